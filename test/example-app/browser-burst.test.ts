// A burst in the chat demo, with the demo server in a process of its own (`node
// example-app/server.js`): one Chromium page sends 1,000 messages as fast as its page script
// can (the composer submitted 1,000 times in one turn), over permessage-deflate, which Chromium
// always offers and the demo accepts; every page in the room, the sender's included, must show
// all 1,000, in the order sent, without a reconnect.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const COUNT = 1000
const skip = existsSync(CHROMIUM) ? false : `Chromium not installed: apt-get install chromium; browser test skipped (looked for ${CHROMIUM})`

// DOM globals touched in page functions (the project's tsconfig has no DOM lib)
declare const document: {
  getElementById (id: string): { value: string, requestSubmit (): void } | null
  querySelectorAll (selector: string): ArrayLike<{ textContent: string | null }>
}

/** Message i: its number first, then 0 to ~1,900 characters of words that repeat (deflate has work to do), some outside ASCII. */
function text (i: number): string {
  const words = ['burst', 'deflate', 'ordre', 'größe', 'чат', '消息', '✓', 'frame', 'inflate', 'window']
  let s = `#${i}`
  const length = (i * 7919) % 1900
  for (let k = 0; s.length < length; k++) s += ' ' + words[(i + k * k) % words.length]
  return s
}

t.test('1,000 messages sent quickly from one page arrive in order on every page of the room, over permessage-deflate', { timeout: 120_000, skip }, async t => {
  // the demo as users run it, in its own process; port 0 and the address read from its output
  const server = spawn(process.execPath, [path.join(__dirname, '..', '..', 'example-app', 'server.js')], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'warn', SECRET: 'burst test' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  server.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  server.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise(resolve => server.once('exit', resolve))
  t.teardown(async () => {
    server.kill('SIGKILL')
    await exited
  })
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 20_000)
    server.stdout.on('data', () => {
      const m = /chat demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    server.once('exit', code => reject(new Error(`the demo exited (${String(code)}):\n${output}`)))
  })

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(() => browser.close())

  const problems: string[] = []
  /** WebSockets each page opened, and those that closed: one and none, or the page reconnected */
  const sockets: Record<string, { opened: number, closed: number }> = {}
  async function join (nickname: string): Promise<Page> {
    const context = await browser.newContext()
    const page = await context.newPage()
    page.setDefaultTimeout(20_000)
    page.on('pageerror', err => problems.push(`${nickname}: page error: ${err.message}`))
    page.on('console', msg => { if (msg.type() === 'error') problems.push(`${nickname}: console: ${msg.text()}`) })
    const count = sockets[nickname] = { opened: 0, closed: 0 }
    page.on('websocket', ws => {
      count.opened++
      ws.on('close', () => { count.closed++ })
    })
    await page.goto(base)
    await page.fill('#nickname', nickname)
    await page.fill('#room', 'burst')
    await page.click('#login button[type=submit]')
    await page.waitForSelector('#status[data-state=online]')
    await page.waitForSelector('#chat:not([hidden])')
    return page
  }
  const pages = { ada: await join('ada'), bob: await join('bob'), carol: await join('carol') }
  await pages.ada.waitForFunction(() => document.querySelectorAll('#members li').length === 3)

  for (const [nickname, page] of Object.entries(pages)) {
    t.match(await page.getAttribute('#status', 'data-extensions'), /^permessage-deflate/, `${nickname}'s page negotiated permessage-deflate`)
  }

  const texts = Array.from({ length: COUNT }, (_, i) => text(i))
  // the page's own send path, 1,000 times in one turn: Chromium compresses and writes them back to back
  await pages.ada.evaluate(list => {
    const input = document.getElementById('text')
    const form = document.getElementById('composer')
    if (input === null || form === null) throw new Error('no composer on the page')
    for (const s of list) {
      input.value = s
      form.requestSubmit()
    }
  }, texts)

  // one deadline for all pages: once the first has everything, the others are due at once
  const deadline = Date.now() + 45_000
  for (const [nickname, page] of Object.entries(pages)) {
    try {
      await page.waitForFunction(n => document.querySelectorAll('#messages .message').length >= n, COUNT,
        { timeout: Math.max(2000, deadline - Date.now()), polling: 250 })
    } catch {
      // fall through: the comparison below says what arrived
    }
    const shown = await page.$$eval('#messages .message .text', els => els.map(e => e.textContent ?? ''))
    const firstWrong = texts.findIndex((s, i) => shown[i] !== s)
    t.equal(shown.length, COUNT, `${nickname}'s page shows ${shown.length} of ${COUNT} messages`)
    t.equal(firstWrong, -1, `${nickname}'s page shows them in the order sent` +
      (firstWrong === -1 ? '' : ` (first wrong at ${firstWrong}: ${JSON.stringify(shown[firstWrong]?.slice(0, 40))})`))
    t.same(sockets[nickname], { opened: 1, closed: 0 }, `${nickname}'s page kept its one connection (no drop, no reconnect)`)
  }
  t.same(problems, [], 'no page errors and no console errors')
  t.notMatch(output, /"level":(50|60)/, 'the demo logged no error')
})
