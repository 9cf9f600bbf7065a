// Ping floods (issue 10, part 3): a peer that sends pings as fast as it can and never reads the
// pongs. Before the fix this grew the other side's output without bound (1.4 GB in 20 s, no
// error), on the server and on the client. Now automatic pongs queued while our output is backed
// up are capped (maxPendingAutoPongs, default 100) and the backpressure policy applies: 'close'
// fails the connection with 1008 (WS_ERR_TOO_MANY_PINGS), 'drop' answers no more pings until
// the peer reads; and output over maxBackpressure stops reading from the peer.
// Server side: fixtures/target-server.js in its own process, the attacker here. Client side: our
// client here, fixtures/hostile-server.js in its own process. Bound: RSS within +100 MB of idle
// (the server's VmHWM from /proc, or this process's). Quick: 64 MB of pings; WS_HEAVY=1: 512 MB.
import t, { type Test } from 'tap'
import path from 'node:path'
import { frame } from '../helpers/frames'
import { forkPeer } from '../helpers/peer-process'
import { within } from '../helpers/raw-client'
import { HEAVY, MiB, RSS_BOUND, attackSocket, closeCodeIn, framesIn, legitEcho, mb, startTarget, watchRss } from '../helpers/attack'
import { connect, type WebSocket } from '../../lib/client'
import type { WebSocketError } from '../../lib/errors'

const FLOOD = (HEAVY ? 512 : 64) * MiB
/** a masked ping with 125 bytes of payload (the most a control frame may carry, RFC 6455 section 5.5) */
const PING = frame({ opcode: 0x9, payload: Buffer.alloc(125, 0x70), mask: Buffer.alloc(4) })
const PINGS = Buffer.concat(Array.from({ length: Math.floor(MiB / PING.length) }, () => PING))
/** how long the server may take nothing before the flood counts as stopped by it (not an assertion) */
const STALL_MS = 2000

/** Flood pings until FLOOD bytes are written, the server stops reading, or the connection goes. */
async function flood (a: Awaited<ReturnType<typeof attackSocket>>): Promise<{ bytes: number, stopped: 'closed' | 'stalled' | 'done' }> {
  let bytes = 0
  while (bytes < FLOOD) {
    if (!await a.write(PINGS, STALL_MS)) return { bytes, stopped: a.isClosed() ? 'closed' : 'stalled' }
    bytes += PINGS.length
  }
  return { bytes, stopped: 'done' }
}

t.test('a client that floods the server with pings and never reads is failed with 1008 WS_ERR_TOO_MANY_PINGS or dropped (server RSS within +100 MB)', async t => {
  const target = await startTarget(t)
  const rss = watchRss(target.pid)
  const attackers = await Promise.all([0, 1].map(() => attackSocket(t, target.port)))
  const during = legitEcho(target.port, 'during the flood')
  const results = await Promise.all(attackers.map(flood))
  t.equal(await during, 'during the flood', 'a legitimate client is echoed during the flood')
  for (const [i, a] of attackers.entries()) {
    // now read what the server wrote: its pongs, then a close 1008 unless it dropped us first
    a.read()
    await within(a.closed, 20_000, `attacker ${i}'s connection to end`)
    const code = closeCodeIn(a.received())
    t.ok(code === 1008 || code === null, `attacker ${i}: ${mb(results[i].bytes)} MB of pings (${results[i].stopped}), then ${code === null ? 'dropped' : `close ${code}`}`)
  }
  const stats = await target.stats()
  t.equal(stats.errors.WS_ERR_TOO_MANY_PINGS, 2, 'the server failed both with WS_ERR_TOO_MANY_PINGS')
  t.equal(await legitEcho(target.port, 'after the flood'), 'after the flood', 'a legitimate client is echoed after the flood')
  const { idle, peak, grown } = rss.stop()
  t.comment(`server under 2 ping floods: idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `the server's RSS stays within +100 MB of idle (grew ${mb(grown)} MB)`)
})

t.test("with backpressurePolicy 'drop', a ping flood costs pongs, not the connection (server RSS within +100 MB)", async t => {
  const target = await startTarget(t, { backpressurePolicy: 'drop' })
  const rss = watchRss(target.pid)
  const a = await attackSocket(t, target.port)
  const result = await flood(a)
  t.equal(result.stopped, 'done', `all ${mb(result.bytes)} MB of pings were read by the server`)
  a.read()
  await a.write(frame({ opcode: 0x1, payload: 'still here', mask: true }))
  const echo = await within((async () => {
    for (;;) {
      const frames = framesIn(a.received())
      const text = frames.find(f => f.opcode === 0x1)
      if (text !== undefined) return { text: text.payload.toString(), pongs: frames.filter(f => f.opcode === 0xa).length }
      if (a.isClosed()) throw new Error(`closed (close code ${String(closeCodeIn(a.received()))})`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })(), 30_000, 'the echo after the flood')
  const pings = result.bytes / PING.length
  t.equal(echo.text, 'still here', `the flooder is still echoed (${echo.pongs} pongs for ${pings} pings)`)
  t.ok(echo.pongs < pings, 'pongs over maxPendingAutoPongs were dropped')
  t.same((await target.stats()).errors, {}, 'no error on the server')
  const { idle, peak, grown } = rss.stop()
  t.comment(`server under a ping flood, policy 'drop': idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `the server's RSS stays within +100 MB of idle (grew ${mb(grown)} MB)`)
})

/** The close code (events.once would reject on 'error', which these attacks expect). */
function closeOf (ws: WebSocket): Promise<number> {
  return new Promise(resolve => ws.once('close', (code: number) => resolve(code)))
}

async function hostile (t: Test, mode: string, bytes: number): Promise<{ url: string, done (): Promise<{ sent: number }> }> {
  const peer = forkPeer(path.join(__dirname, 'fixtures', 'hostile-server.js'), { mode, bytes })
  t.teardown(() => peer.stop())
  const { port } = await peer.next<{ port: number }>(10_000)
  return { url: `ws://127.0.0.1:${port}/`, done: () => peer.next<{ sent: number }>(120_000) }
}

t.test('our client flooded with pings by a server that never reads fails with WS_ERR_TOO_MANY_PINGS (this process within +100 MB)', async t => {
  const server = await hostile(t, 'ping-flood', FLOOD)
  const rss = watchRss(process.pid)
  const ws: WebSocket = await connect(server.url)
  const errors: WebSocketError[] = []
  ws.on('error', (err: WebSocketError) => errors.push(err))
  const code = await within(closeOf(ws), 60_000, 'the client to close')
  t.equal(errors[0]?.code, 'WS_ERR_TOO_MANY_PINGS', 'the client failed the connection: WS_ERR_TOO_MANY_PINGS')
  t.equal(errors[0]?.closeCode, 1008, 'with close code 1008')
  t.ok(code === 1006 || code === 1008, `close reported as ${code}: the server never sent its close frame`)
  const { idle, peak, grown } = rss.stop()
  t.comment(`client under a ping flood: idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `this process's RSS stays within +100 MB (grew ${mb(grown)} MB)`)
})

t.test("our client with backpressurePolicy 'drop' outlasts the flood and hears the server's last message and close 1000", async t => {
  const server = await hostile(t, 'ping-flood', FLOOD)
  const rss = watchRss(process.pid)
  const ws: WebSocket = await connect(server.url, { backpressurePolicy: 'drop' })
  const messages: string[] = []
  ws.on('message', (data: Buffer) => messages.push(data.toString()))
  const errors: WebSocketError[] = []
  ws.on('error', (err: WebSocketError) => errors.push(err))
  const code = await within(closeOf(ws), 120_000, 'the client to close')
  const { sent } = await server.done()
  t.same(messages, ['flood over'], `after ${mb(sent)} MB of pings, the server's message arrives`)
  t.equal(code, 1000, 'and its close 1000')
  t.same(errors, [], 'no error')
  const { idle, peak, grown } = rss.stop()
  t.comment(`client under a ping flood, policy 'drop': idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `this process's RSS stays within +100 MB (grew ${mb(grown)} MB)`)
})
