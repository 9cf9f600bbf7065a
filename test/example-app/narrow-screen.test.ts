// The chat page on a phone-sized screen, in a real Chromium (playwright-core, headless): at 390 px
// wide (and 320), on the login form, in a room with the longest nickname and room name, with a
// long unbroken message, and while reconnecting, the header's content fits its box
// (scrollWidth <= clientWidth) and no element reaches outside the viewport.
import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../example-app/app.js'
import type { WebSocket as ServerSocket } from '../../lib/index'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const skip = existsSync(CHROMIUM) ? false : `Chromium not installed: apt-get install chromium; browser test skipped (looked for ${CHROMIUM})`

// DOM globals touched in page functions (the project's tsconfig has no DOM lib)
interface Box { left: number, right: number, width: number, height: number }
interface Node { id: string, tagName: string, className: string, scrollWidth: number, clientWidth: number, getBoundingClientRect (): Box }
declare const document: {
  querySelector (selector: string): Node
  documentElement: Node
  body: { querySelectorAll (selector: string): Iterable<Node> }
}
declare const innerWidth: number

interface Fit { header: { scrollWidth: number, clientWidth: number }, page: number, viewport: number, outside: string[] }

/** How the page fits its viewport: the header's widths, the document's, and any element outside. */
function measure (page: Page): Promise<Fit> {
  return page.evaluate(() => {
    const header = document.querySelector('header.bar')
    const outside: string[] = []
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect()
      if (box.width === 0 && box.height === 0) continue // not rendered ([hidden], display: none)
      // half a pixel for subpixel layout
      if (box.left < -0.5 || box.right > innerWidth + 0.5) outside.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className}: ${box.left}..${box.right}`)
    }
    return {
      header: { scrollWidth: header.scrollWidth, clientWidth: header.clientWidth },
      page: document.documentElement.scrollWidth,
      viewport: innerWidth,
      outside
    }
  })
}

t.test('at 390 px (and 320 px) wide the header does not overflow and nothing sticks out of the viewport', { timeout: 60_000, skip }, async t => {
  const opened: ServerSocket[] = []
  const app = await buildApp({ onConnection: socket => opened.push(socket) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 20_000, args: ['--no-sandbox', '--headless', '--disable-gpu'] })
  t.teardown(() => browser.close())

  for (const width of [390, 320]) {
    const context = await browser.newContext({ viewport: { width, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true })
    const page = await context.newPage()
    page.setDefaultTimeout(10_000)
    const problems: string[] = []
    page.on('pageerror', err => problems.push(err.message))

    const fits = async (state: string): Promise<void> => {
      const fit = await measure(page)
      t.equal(fit.viewport, width, `${width} px, ${state}: the viewport is ${width} px wide`)
      t.ok(fit.header.scrollWidth <= fit.header.clientWidth, `${width} px, ${state}: the header's content fits it (${fit.header.scrollWidth} <= ${fit.header.clientWidth})`)
      t.ok(fit.page <= width, `${width} px, ${state}: the page does not scroll sideways (${fit.page})`)
      t.same(fit.outside, [], `${width} px, ${state}: no element sticks out of the viewport`)
    }

    await page.goto(base)
    await fits('login form')

    // the longest nickname (24) and room name (32) the schemas allow
    await page.fill('#nickname', `Maximiliana Wolkenstei${width}`.slice(0, 24))
    await page.fill('#room', 'a-very-long-room-name-of-32-char')
    await page.click('#login button[type=submit]')
    await page.waitForSelector('#status[data-state=online]')
    t.match(await page.textContent('#status'), 'connected · chat.v1 · permessage-deflate', 'the longest status text')
    await page.fill('#text', `${'x'.repeat(300)} and a link https://example.com/${'path/'.repeat(30)}`)
    await page.press('#text', 'Enter')
    await page.waitForSelector('#messages .message')
    await fits('in a room, online')

    opened.at(-1)!.terminate()
    await page.waitForSelector('#status[data-state=reconnecting]')
    await page.waitForSelector('#notice:not([hidden])')
    await fits('reconnecting, with the notice shown')
    await page.waitForSelector('#status[data-state=online]')

    t.same(problems, [], 'no page errors')
    await context.close()
  }
})
