// The chat demo's observability: GET /metrics and /api/stats count a `ws` member in another
// process, and the page's live panel (in a real Chromium) shows the open connection and a
// message rate while that member talks.
import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { buildApp } from '../../example-app/app.js'
import { startWsPeer } from '../helpers/ws-peer'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const skip = existsSync(CHROMIUM) ? false : `Chromium not installed: apt-get install chromium; browser test skipped (looked for ${CHROMIUM})`

declare const document: { querySelector (selector: string): { textContent: string | null } | null }

t.test('/metrics and the live panel count a member talking in a room', { timeout: 60_000, skip }, async t => {
  const app = await buildApp()
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const login = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nickname: 'ada' }) })
  const { token } = await login.json() as { token: string }

  const peer = await startWsPeer(t)
  const url = `${base.replace('http', 'ws')}/chat/lobby`
  t.match(await peer.ask({ cmd: 'open', name: 'ada', url, protocols: ['chat.v1', `token.${token}`] }), { opened: true, protocol: 'chat.v1' }, 'a member joins')
  const say = JSON.stringify({ type: 'message', text: 'hello' })
  await peer.ask({ cmd: 'send', name: 'ada', count: 3, text: say })
  await peer.ask({ cmd: 'received', name: 'ada', count: 4 }) // the welcome, then its three messages

  const metrics = await fetch(`${base}/metrics`)
  t.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
  const text = await metrics.text()
  t.match(text, /^websocket_connections_open\{route="\/chat\/:room"\} 1$/m, 'one connection open on /chat/:room')
  t.match(text, /^websocket_messages_total\{route="\/chat\/:room",direction="in"\} 3$/m, 'three messages in')
  t.match(text, /^websocket_topic_subscribers\{topic="[^"]*lobby[^"]*"\} 1$/m, 'one subscriber of the lobby')
  const stats = await (await fetch(`${base}/api/stats`)).json() as Record<string, number>
  t.match(stats, { open: 1, messagesIn: 3, messagesOut: 5 }, '/api/stats: the room\'s resume header (s), the welcome and three broadcasts out')

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 20_000, args: ['--no-sandbox', '--disable-gpu'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('pageerror', err => problems.push(err.message))
  await page.goto(base)
  await page.waitForFunction(() => document.querySelector('#metrics-panel [data-metric="open"]')?.textContent === '1', undefined, { timeout: 10_000 })
  t.pass('the panel shows one connection')
  // keep talking until a poll sees messages arrive between two readings (bounded: 40 rounds)
  let rate = '–'
  for (let i = 0; i < 40 && !(Number(rate) > 0); i++) {
    await peer.ask({ cmd: 'send', name: 'ada', count: 5, text: say })
    await page.waitForTimeout(250)
    rate = await page.evaluate(() => document.querySelector('#metrics-panel [data-metric="in"]')?.textContent ?? '') as string
  }
  t.ok(Number(rate) > 0, `the panel shows ${rate} messages per second in`)
  t.same(problems, [], 'no page errors')
})
