// The chat page in a real Chromium (playwright-core, headless): two pages chat in one room and
// see each other's presence, permessage-deflate is negotiated with the browser, a dropped
// connection is retried with a countdown, and a page with an expired or forged token is told
// why. Saves a screenshot (example-app/screenshot.png for the README with UPDATE_SCREENSHOT=1).
import t from 'tap'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../example-app/app.js'
import type { WebSocket as ServerSocket } from '../../lib/index'

/** CI installs Debian's chromium; CHROMIUM_PATH points elsewhere */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// The README's screenshot is rewritten only on request (UPDATE_SCREENSHOT=1), so that a test run
// leaves the tree clean; otherwise it goes to the ignored test-results/ folder.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1'
  ? path.join(__dirname, '..', '..', 'example-app', 'screenshot.png')
  : path.join(__dirname, '..', '..', 'test-results', 'chat-screenshot.png')

// Pages are evaluated in the browser; these are the few DOM globals they touch (the project's
// tsconfig has no DOM lib, and this declaration stays local to this module).
declare const document: {
  querySelector (selector: string): { textContent: string | null } | null
  querySelectorAll (selector: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>
}
declare const sessionStorage: { setItem (key: string, value: string): void }

const skip = existsSync(CHROMIUM) ? false : `Chromium not installed: apt-get install chromium; browser test skipped (looked for ${CHROMIUM})`

t.test('two browser pages chat in one room over permessage-deflate, reconnect, and refusals are explained', { timeout: 60_000, skip }, async t => {
  const opened: Array<{ nickname: string, socket: ServerSocket }> = []
  const app = await buildApp({
    onConnection (socket, req) {
      opened.push({ nickname: (req as unknown as { chatSession: { nickname: string } }).chatSession.nickname, socket })
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(() => browser.close()) // runs before app.close(): teardowns run last-in first-out

  const problems: string[] = []
  async function openPage (): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 980, height: 620 }, deviceScaleFactor: 1 })
    const page = await context.newPage()
    page.setDefaultTimeout(10_000)
    page.on('pageerror', err => problems.push(`page error: ${err.message}`))
    page.on('console', msg => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
    return page
  }

  async function joinAs (page: Page, nickname: string, room: string): Promise<void> {
    await page.goto(base)
    await page.fill('#nickname', nickname)
    await page.fill('#room', room)
    await page.click('#login button[type=submit]')
    await page.waitForSelector('#status[data-state=online]')
    await page.waitForSelector('#chat:not([hidden])')
  }

  async function say (page: Page, text: string): Promise<void> {
    await page.fill('#text', text)
    await page.press('#text', 'Enter')
  }

  const messageTexts = (page: Page): Promise<string[]> => page.$$eval('#messages .message .text', els => els.map(e => e.textContent ?? ''))
  const members = (page: Page): Promise<string[]> => page.$$eval('#members li', els => els.map(e => e.textContent ?? ''))

  // ---- two pages, one room ----
  const ada = await openPage()
  await joinAs(ada, 'ada', 'lobby')
  t.equal(await ada.textContent('#room-name'), 'lobby')
  t.same(await members(ada), ['ada'])

  const bob = await openPage()
  await joinAs(bob, 'bob', 'lobby')
  await ada.waitForFunction(() => document.querySelectorAll('#members li').length === 2)
  t.same(await members(ada), ['ada', 'bob'], 'ada sees bob arrive')
  t.same(await members(bob), ['ada', 'bob'], 'bob gets the member list on joining')
  t.match(await ada.textContent('#messages'), 'bob joined')

  await say(ada, 'Hi Bob! Is the deflate on?')
  await bob.waitForFunction(() => [...document.querySelectorAll('#messages .text')].some(e => e.textContent === 'Hi Bob! Is the deflate on?'))
  await say(bob, 'Hello Ada, it is: permessage-deflate, negotiated by Chromium.')
  await ada.waitForFunction(() => [...document.querySelectorAll('#messages .text')].some(e => e.textContent?.startsWith('Hello Ada')))
  await say(ada, '<b>not bold</b>: nothing a user types is parsed as HTML ✓')
  await bob.waitForFunction(() => document.querySelectorAll('#messages .message').length === 3)
  await ada.waitForFunction(() => document.querySelectorAll('#messages .message').length === 3) // her own echo may come later
  t.same(await messageTexts(bob), await messageTexts(ada), 'both pages show the same conversation')
  t.equal(await bob.$$eval('#messages b', els => els.length), 0, 'markup in a message stays text')

  // ---- permessage-deflate, seen from both ends ----
  t.match(await ada.getAttribute('#status', 'data-extensions'), /^permessage-deflate/, "the page's WebSocket reports the extension")
  t.match(await ada.textContent('#status'), 'chat.v1 · permessage-deflate')
  t.equal(opened.length, 2)
  for (const { nickname, socket } of opened) {
    t.match(socket.extensions, /^permessage-deflate/, `the server negotiated deflate with ${nickname}'s browser`)
    t.equal(socket.protocol, 'chat.v1')
  }

  await ada.screenshot({ path: SCREENSHOT })
  t.ok(existsSync(SCREENSHOT), `screenshot saved to ${SCREENSHOT}`)

  // ---- a newcomer gets the history ----
  const carol = await openPage()
  await joinAs(carol, 'carol', 'lobby')
  t.same(await messageTexts(carol), await messageTexts(ada), 'history on join')
  await carol.close()
  await ada.waitForFunction(() => !document.querySelector('#members')?.textContent?.includes('carol'))

  // ---- a dropped connection: countdown, then reconnect ----
  const bobSocket = opened.find(o => o.nickname === 'bob')!.socket
  bobSocket.terminate()
  await bob.waitForFunction(() => /reconnecting in \d+ s…/.test(document.querySelector('#status')?.textContent ?? ''))
  t.match(await bob.textContent('#notice'), /the connection dropped: reconnecting in 1 s…/, 'the page says it will retry')
  await bob.waitForSelector('#status[data-state=online]', { timeout: 5000 })
  t.equal(await bob.isHidden('#notice'), true, 'the notice is gone once back')
  t.equal(opened.filter(o => o.nickname === 'bob').length, 2, 'bob opened a new socket')
  await say(bob, 'back again')
  await ada.waitForFunction(() => [...document.querySelectorAll('#messages .text')].some(e => e.textContent === 'back again'))

  t.same(problems, [], 'no page errors and no console errors (CSP included) on the chat pages')

  // ---- refusals: the page asks /api/check why and says so ----
  for (const [label, token, message] of [
    ['an expired token', app.chat.tokens.sign('dave', Date.now() - 60_000).token, 'your session expired, log in again'],
    ['a forged token', 'eyJuIjoiZGF2ZSIsImV4cCI6OTk5OTk5OTk5OTk5OX0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'your session is not valid (the server may have a new key), log in again']
  ]) {
    const page = await openPage()
    await page.addInitScript(session => sessionStorage.setItem('chat.session', session),
      JSON.stringify({ token, nickname: 'dave', room: 'lobby', expiresAt: 0 }))
    await page.goto(base)
    await page.waitForSelector('#notice:not([hidden])')
    t.equal(await page.textContent('#notice'), message, `${label}: the page explains the refusal`)
    t.equal(await page.getAttribute('#status', 'data-state'), 'refused')
    t.equal(await page.isVisible('#login'), true, 'and offers to log in again')
    t.equal(await page.inputValue('#nickname'), 'dave')
    await page.context().close()
  }
  t.equal(opened.length, 4, 'the refused pages opened no socket (ada, bob, carol, bob again)')
})
