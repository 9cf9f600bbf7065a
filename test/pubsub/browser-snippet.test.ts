// The README's browser snippet for resumable topics, as printed there, in a real Chromium against
// the app in another process: it reads ids, presents them when it reconnects after a cut, gets
// what it missed once and in order (text and binary), and hears of the gap after a restart.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { forkPeer, type PeerProcess } from '../helpers/peer-process'
import { waitFor } from '../helpers/redis'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SERVER = join(__dirname, 'fixtures', 'resume-server.js')
const skip = existsSync(CHROMIUM) ? false : `Chromium not installed (looked for ${CHROMIUM})`

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8')
const snippet = /In a page, the same in a few lines:\n\n```js\n([\s\S]*?)\n```/.exec(readme)?.[1]

declare const window: { got: string[], gaps: string[] }

t.test('the README snippet resumes a page: missed messages once and in order, then a gap after a restart', { timeout: 60_000, skip }, async t => {
  t.ok(snippet !== undefined && snippet.includes('function resumable'), 'the snippet is in the README')
  const start = async (port: number): Promise<{ peer: PeerProcess, port: number }> => {
    const peer = forkPeer(SERVER, { port: String(port) })
    t.teardown(() => peer.stop())
    return { peer, port: (await peer.next<{ port: number }>(20_000)).port }
  }
  const send = async (peer: PeerProcess, m: object): Promise<void> => {
    peer.child.send(m)
    await peer.next(20_000)
  }
  const first = await start(0)
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 20_000, args: ['--no-sandbox', '--disable-gpu'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('pageerror', err => problems.push(err.message))
  await page.addScriptTag({
    content: `${snippet!}
    window.got = []
    window.gaps = []
    resumable('ws://127.0.0.1:${first.port}/ws?topics=news',
      (data, topic) => window.got.push(topic + ':' + (typeof data === 'string' ? data : 'bin:' + new TextDecoder().decode(data))),
      topic => window.gaps.push(topic))`
  })
  const got = async (): Promise<string[]> => await page.evaluate(() => window.got)
  const clients = async (peer: PeerProcess): Promise<number> => {
    peer.child.send({ clients: true })
    return (await peer.next<{ clients: number }>(20_000)).clients
  }
  await waitFor(async () => await clients(first.peer) === 1, 'the page connected', 20_000)
  await send(first.peer, { publish: { topic: 'news', prefix: 'n', from: 0, count: 2 } })
  await send(first.peer, { publish: { topic: 'news', prefix: 'b', from: 2, count: 1, binary: true } })
  await waitFor(async () => (await got()).length === 3, 'three messages', 20_000)
  await send(first.peer, { drop: { topic: 'news', prefix: 'n', from: 3, count: 3 } })
  await waitFor(async () => (await got()).length === 6, 'the three missed, after the page reconnected', 20_000)
  await send(first.peer, { publish: { topic: 'news', prefix: 'n', from: 6, count: 1 } })
  await waitFor(async () => (await got()).length === 7, 'a live one', 20_000)
  t.same(await got(), ['news:n0', 'news:n1', 'news:bin:b2', 'news:n3', 'news:n4', 'news:n5', 'news:n6'], 'each once, in order, binary kept binary')
  t.same(await page.evaluate(() => window.gaps), [])

  await first.peer.stop()
  const second = await start(first.port)
  await waitFor(async () => (await page.evaluate(() => window.gaps)).length === 1, 'a gap after the restart', 20_000)
  t.same(await page.evaluate(() => window.gaps), ['news'])
  t.same(problems, [], 'no page errors')
  await second.peer.stop()
})
