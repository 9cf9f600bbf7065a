// The chat page fills in what it missed across a dropped connection through the room's resumable
// topic (README, "Resumable topics"), in a real Chromium (playwright-core, headless), without a
// server restart: the server drops one page's WebSocket, holds that page's reconnect handshake
// while another member sends two messages, then lets it through. The page presented the id of
// the last message it had (`?resume=<id>:room:lobby`), and the two messages appear once each,
// in order. The welcome's history keeps one message only, so it could not have filled them in.
import t from 'tap'
import { existsSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../example-app/app.js'
import type { WebSocket as ServerSocket } from '../../lib/index'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const skip = existsSync(CHROMIUM) ? false : `Chromium not installed: apt-get install chromium; browser test skipped (looked for ${CHROMIUM})`

// DOM globals touched in page functions (the project's tsconfig has no DOM lib)
declare const document: {
  querySelectorAll (selector: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>
}

t.test('a page whose connection dropped gets the messages it missed through resume, once each and in order', { timeout: 60_000, skip }, async t => {
  const opened: Array<{ nickname: string, socket: ServerSocket }> = []
  const app = await buildApp({
    historySize: 1,
    onConnection (socket, req) {
      opened.push({ nickname: (req as unknown as { chatSession: { nickname: string } }).chatSession.nickname, socket })
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

  // every upgrade request's URL as the server saw it, and a gate that holds handshakes while closed
  const upgrades: string[] = []
  let gate: Promise<void> | null = null
  const server = app.server
  const listeners = server.listeners('upgrade') as Array<(...args: unknown[]) => void>
  server.removeAllListeners('upgrade')
  server.on('upgrade', (req: IncomingMessage, socket: unknown, head: unknown) => {
    upgrades.push(req.url ?? '')
    const go = (): void => { for (const l of listeners) l.call(server, req, socket, head) }
    if (gate === null) go()
    else gate.then(go, () => {})
  })

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 20_000, args: ['--no-sandbox', '--headless', '--disable-gpu'] })
  t.teardown(() => browser.close())

  const problems: string[] = []
  async function join (nickname: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 980, height: 620 } })).newPage()
    page.setDefaultTimeout(15_000)
    page.on('pageerror', err => problems.push(`${nickname}: ${err.message}`))
    await page.goto(base)
    await page.fill('#nickname', nickname)
    await page.fill('#room', 'lobby')
    await page.click('#login button[type=submit]')
    await page.waitForSelector('#status[data-state=online]')
    return page
  }
  const texts = (page: Page): Promise<string[]> => page.$$eval('#messages .message .text', els => els.map(e => e.textContent ?? ''))
  async function say (page: Page, text: string, others: Page[]): Promise<void> {
    await page.fill('#text', text)
    await page.press('#text', 'Enter')
    for (const other of [page, ...others]) {
      await other.waitForFunction(t => [...document.querySelectorAll('#messages .text')].some(e => e.textContent === t), text)
    }
  }

  const ada = await join('ada')
  const bob = await join('bob')
  await ada.waitForFunction(() => document.querySelectorAll('#members li').length === 2)
  await say(ada, 'one', [bob])
  await say(bob, 'two', [ada])
  t.same(new URL(upgrades[0], base).searchParams.getAll('resume'), [], 'a first join presents no id')

  // ada's connection drops (the server ends its TCP connection); her reconnect waits at the gate
  let release = (): void => {}
  gate = new Promise(resolve => { release = resolve })
  const held = upgrades.length
  opened.find(o => o.nickname === 'ada')!.socket.terminate()
  await ada.waitForSelector('#status[data-state=reconnecting]')
  await say(bob, 'three', [])
  await say(bob, 'four', [])
  const rooms = (app.chat as unknown as { rooms: { get (name: string): { history: Array<{ text: string }> } } }).rooms
  t.same(rooms.get('lobby').history.map(m => m.text), ['four'], 'the history alone holds only the last message')
  while (upgrades.length === held) await new Promise(resolve => setTimeout(resolve, 50))
  gate = null
  release()

  const resume = new URL(upgrades[held], base).searchParams.getAll('resume')
  t.equal(resume.length, 1, 'the reconnect presents one id')
  t.match(resume[0], /^\d{1,15}-\d{1,15}:room:lobby$/, 'the id of the last message ada had, for the room topic')

  await ada.waitForSelector('#status[data-state=online]')
  await ada.waitForFunction(() => document.querySelectorAll('#messages .message').length >= 4)
  t.same(await texts(ada), ['one', 'two', 'three', 'four'], 'what was missed appears once each, in order')
  t.equal(await ada.$$eval('#messages .gap', els => els.length), 0, 'no gap: the window covered it')
  t.equal(await ada.isHidden('#notice'), true, 'live again')

  await say(bob, 'five', [ada])
  t.same(await texts(ada), ['one', 'two', 'three', 'four', 'five'], 'and live messages follow')
  t.same(problems, [], 'no page errors')
})
