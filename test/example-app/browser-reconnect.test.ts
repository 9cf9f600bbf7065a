// The chat page across restarts of the demo server, in a real Chromium (playwright-core,
// headless) with the server in a process of its own: the process is killed (SIGKILL, a crash)
// and later stopped (SIGTERM, a deploy) and started again on the same port and key file while
// two pages are open. Each time the earlier messages stay on screen, the page says it is
// reconnecting and shows the members offline, the countdown grows while the server is away
// (backoff), then the page is live again, nobody had to log in again, and new messages flow.
import t from 'tap'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startDemo, type DemoProcess } from '../helpers/demo-process'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// the page while reconnecting, to look at (test-results/ is git-ignored)
const SCREENSHOT = path.join(__dirname, '..', '..', 'test-results', 'chat-reconnecting.png')
const skip = existsSync(CHROMIUM) ? false : `Chromium not installed: apt-get install chromium; browser test skipped (looked for ${CHROMIUM})`

// DOM globals touched in page functions (the project's tsconfig has no DOM lib)
declare const document: {
  querySelector (selector: string): { textContent: string | null } | null
  querySelectorAll (selector: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>
}
declare const sessionStorage: { getItem (key: string): string | null }

t.test('the page keeps the conversation through server restarts, says it is reconnecting, then chats on', { timeout: 120_000, skip }, async t => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-reconnect-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = { SECRET: '', SECRET_FILE: path.join(dir, 'secret') }
  let demo: DemoProcess = await startDemo(env)
  t.teardown(() => demo.stop('SIGKILL'))
  const output: string[] = [] // every server process's output, for the token check at the end

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 20_000, args: ['--no-sandbox', '--headless', '--disable-gpu'] })
  t.teardown(() => browser.close())

  const problems: string[] = []
  async function join (nickname: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 980, height: 620 } })).newPage()
    page.setDefaultTimeout(15_000)
    page.on('pageerror', err => problems.push(`${nickname}: ${err.message}`))
    await page.goto(demo.base)
    await page.fill('#nickname', nickname)
    await page.fill('#room', 'lobby')
    await page.click('#login button[type=submit]')
    await page.waitForSelector('#status[data-state=online]')
    return page
  }
  const texts = (page: Page): Promise<string[]> => page.$$eval('#messages .message .text', els => els.map(e => e.textContent ?? ''))
  const members = (page: Page, selector = '#members li'): Promise<string[]> => page.$$eval(selector, els => els.map(e => e.textContent ?? ''))
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
  const conversation = ['one', 'two']
  const adaToken = await ada.evaluate(() => JSON.parse(sessionStorage.getItem('chat.session') ?? '{}').token as string)

  for (const [signal, why] of [['SIGKILL', 'the connection dropped'], ['SIGTERM', 'the server is restarting']] as const) {
    const port = demo.port
    await demo.stop(signal)
    output.push(demo.output())

    for (const page of [ada, bob]) {
      await page.waitForSelector('#status[data-state=reconnecting]')
      await page.waitForSelector('#notice:not([hidden])')
      t.match(await page.textContent('#notice'), /: reconnecting in \d+ s…$/, `${signal}: the page says it is reconnecting`)
      t.ok((await page.textContent('#messages'))?.includes(why), `${signal}: and why (${why})`)
      t.same(await texts(page), conversation, `${signal}: the conversation stays on screen`)
      t.same(await members(page, '#members li.offline'), ['ada', 'bob'], `${signal}: the members are shown offline`)
      t.equal(await page.textContent('#members-title'), 'Offline')
      t.equal(await page.isDisabled('#send'), true, `${signal}: nothing can be sent meanwhile`)
    }
    if (signal === 'SIGKILL') {
      // backoff: while the server stays away, the wait before each try grows (1 s, 2 s, 4 s, less up to a quarter)
      await ada.waitForFunction(() => /reconnecting in [3-9] s…/.test(document.querySelector('#status')?.textContent ?? ''), undefined, { timeout: 30_000 })
      t.pass(`${signal}: the countdown grew to 3 s or more while the server was away`)
      await ada.screenshot({ path: SCREENSHOT })
    }

    demo = await startDemo(env, port)
    for (const page of [ada, bob]) {
      await page.waitForSelector('#status[data-state=online]', { timeout: 30_000 })
      await page.waitForFunction(() => document.querySelectorAll('#members li:not(.offline)').length === 2)
      t.equal(await page.isHidden('#notice'), true, `${signal}: live again`)
      t.equal(await page.isVisible('#chat'), true, 'no one was asked to log in again (the key file outlived the process)')
      t.same(await texts(page), conversation, `${signal}: the earlier messages are still there, once each`)
      // the new process has none of the ids the page presented: it answers with a gap
      const gaps = await page.$$eval('#messages .gap', els => els.map(e => e.textContent ?? ''))
      t.equal(gaps.length, signal === 'SIGKILL' ? 1 : 2, `${signal}: the page says what it missed is lost`)
      t.match(gaps.at(-1), /some messages were missed/)
      t.same(await members(page), ['ada', 'bob'])
      t.equal(await page.textContent('#members-title'), 'Online')
    }
    const text = `after ${signal}`
    await say(ada, text, [bob])
    conversation.push(text)
    t.same(await texts(bob), conversation, `${signal}: new messages flow`)
  }

  await demo.stop('SIGTERM')
  output.push(demo.output())
  t.same(problems, [], 'no page errors')
  t.ok(adaToken.length > 40)
  t.notOk(output.join('').includes(adaToken.split('.')[1]), "the page's token is in no server log")
})
