// Hostile servers against our client (issue 10, "hostile servers against the client"): each
// attack comes from fixtures/hostile-server.js in a process of its own, over TCP on 127.0.0.1,
// right after a correct 101; our client (lib/client connect) runs here. Asserted: the client
// fails with the right error code and close code (or takes what is valid), this process survives,
// and its RSS (VmHWM from /proc/self) stays within +100 MB of what it was before. Ping floods
// against the client are in ping-flood.test.ts. Quick: 16 to 64 MB per attack; WS_HEAVY=1: 8x.
import t, { type Test } from 'tap'
import path from 'node:path'
import { forkPeer } from '../helpers/peer-process'
import { within } from '../helpers/raw-client'
import { HEAVY, MiB, RSS_BOUND, mb, watchRss } from '../helpers/attack'
import { connect, type WebSocket } from '../../lib/client'
import type { ClientOptions } from '../../lib/client'
import type { WebSocketError } from '../../lib/errors'

const SCALE = HEAVY ? 8 : 1

async function hostile (t: Test, mode: string, bytes: number): Promise<{ url: string, done (): Promise<{ sent: number }> }> {
  const peer = forkPeer(path.join(__dirname, 'fixtures', 'hostile-server.js'), { mode, bytes })
  t.teardown(() => peer.stop())
  const { port } = await peer.next<{ port: number }>(20_000)
  return { url: `ws://127.0.0.1:${port}/`, done: () => peer.next<{ sent: number }>(120_000) }
}

interface Outcome { errors: WebSocketError[], code: number, messages: number, last: string }

/** Connect, count what arrives, resolve once the client has closed. */
async function run (url: string, options: ClientOptions = {}): Promise<Outcome> {
  const ws: WebSocket = await connect(url, options)
  const out: Outcome = { errors: [], code: 0, messages: 0, last: '' }
  ws.on('error', (err: WebSocketError) => out.errors.push(err))
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    out.messages++
    if (!isBinary) {
      out.last = data.toString()
      ws.close(1000)
    }
  })
  out.code = await within(new Promise<number>(resolve => ws.once('close', (code: number) => resolve(code))), 60_000, 'the client to close')
  return out
}

function bounded (t: Test, rss: ReturnType<typeof watchRss>, label: string): void {
  const { idle, peak, grown } = rss.stop()
  t.comment(`${label}: this process's RSS ${mb(idle)} MB before, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `${label}: RSS within +100 MB (grew ${mb(grown)} MB)`)
}

const FAILURES: Array<{ mode: string, bytes: number, options?: ClientOptions, code: string, close: number, what: string }> = [
  { mode: 'oversized', bytes: 16 * MiB * SCALE, code: 'WS_ERR_MESSAGE_TOO_BIG', close: 1009, what: 'a frame announcing 1 GiB, then its bytes' },
  { mode: 'fragments', bytes: 16 * MiB * SCALE, code: 'WS_ERR_TOO_MANY_FRAGMENTS', close: 1008, what: 'a message in endless empty fragments' },
  {
    mode: 'deflate-fragments',
    bytes: 16 * MiB * SCALE,
    options: { perMessageDeflate: true },
    code: 'WS_ERR_TOO_MANY_FRAGMENTS',
    close: 1008,
    what: 'a compressed message in endless empty fragments'
  },
  { mode: 'garbage', bytes: 0, code: 'WS_ERR_UNEXPECTED_RSV_2_3', close: 1002, what: 'an HTML page in the same write as the 101' },
  {
    mode: 'bomb',
    bytes: 64 * MiB * (HEAVY ? 4 : 1),
    options: { perMessageDeflate: true },
    code: 'WS_ERR_MESSAGE_TOO_BIG',
    close: 1009,
    what: 'a compression bomb (zeros inflating past maxPayload)'
  }
]

for (const c of FAILURES) {
  t.test(`our client fails ${c.what} with ${c.code} (${c.close}), within +100 MB of RSS`, async t => {
    const server = await hostile(t, c.mode, c.bytes)
    const rss = watchRss(process.pid)
    const out = await run(server.url, c.options)
    t.equal(out.errors[0]?.code, c.code, c.code)
    t.equal(out.errors[0]?.closeCode, c.close, `close code ${c.close} sent`)
    t.equal(out.messages, 0, 'no message delivered')
    t.ok(out.code === c.close || out.code === 1006, `'close' reports ${out.code}`)
    bounded(t, rss, c.mode)
  })
}

t.test('a 101 followed at once by megabytes of small messages: our client takes them all, in bounded memory', async t => {
  const bytes = 32 * MiB * SCALE
  const server = await hostile(t, 'burst', bytes)
  const rss = watchRss(process.pid)
  const out = await run(server.url)
  // the fixture writes 1 MiB pieces of 1028-byte frames (1 KiB payloads), then a text message
  const expected = Math.ceil(bytes / MiB) * Math.floor(MiB / 1028)
  t.equal(out.messages, expected + 1, `${expected} binary messages and the text after them`)
  t.equal(out.last, 'burst over', 'the last message came last')
  t.same(out.errors, [], 'no error')
  t.equal(out.code, 1000, 'closed cleanly')
  bounded(t, rss, `a ${mb(bytes)} MB burst with the 101`)
})
