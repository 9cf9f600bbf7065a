// Slow consumers (issue 10, "slow consumers"): many clients that stop reading while the server
// broadcasts to them or echoes what they send. What the server holds for each is bounded by
// maxBackpressure (here 256 KiB, so the bound is 256 KiB x clients plus a message each), and the
// policy applies: 'close' fails each with 1008 (WS_ERR_BACKPRESSURE), 'drop' drops what does not
// fit and the connection lives on. The server runs in its own process (fixtures/target-server.js),
// the clients here. Asserted: the server's RSS (VmHWM from /proc) stays within +100 MB of idle,
// the policy's outcome, and a legitimate client is echoed during and after.
// Quick: 40 slow clients offered 25 MB each (1 GB in all); WS_HEAVY=1: 400 (10 GB in all).
import t from 'tap'
import { frame } from '../helpers/frames'
import { within } from '../helpers/raw-client'
import { HEAVY, RSS_BOUND, attackSocket, frameCount, framesIn, legitEcho, mb, startTarget, statsWhen, watchRss, type AttackSocket } from '../helpers/attack'

const MAX_BACKPRESSURE = 256 * 1024
const MESSAGE = 64 * 1024
const MESSAGES = 400 // 25 MB per client
const SLOW = HEAVY ? 400 : 40
// most are broadcast listeners; the echo talkers are fewer, as each pushes ~10 MB through the
// server before the kernel's buffers fill up and it stops being read (garbage, not held memory)
const LISTENERS = SLOW * 3 / 4
const TALKERS = SLOW - LISTENERS
const STALL_MS = 1000

/**
 * A client that sends MESSAGES messages to the echo route and never reads the echoes: the
 * server stops reading from it once its output is over maxBackpressure. Returns the messages
 * written (the last may be waiting in this side's buffer: it still reaches the server later).
 */
async function echoFlood (a: AttackSocket): Promise<number> {
  const message = frame({ opcode: 0x2, payload: Buffer.alloc(MESSAGE, 0x65), mask: Buffer.alloc(4) })
  let written = 0
  while (written < MESSAGES) {
    written++
    if (!await a.write(message, STALL_MS)) break
  }
  return written
}

/** Read until `done` holds for the bytes `a` has read (checked as they come, at most every 20 ms). */
async function readUntil (a: AttackSocket, done: (bytes: Buffer) => boolean, what: string): Promise<Buffer> {
  a.read()
  return await within((async () => {
    for (;;) {
      const bytes = a.received()
      if (done(bytes)) return bytes
      if (a.isClosed()) throw new Error(`closed before ${what}`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })(), 30_000, what)
}

t.test(`${SLOW} clients stop reading while the server broadcasts and echoes (maxBackpressure 256 KiB): listeners are closed 1008 (WS_ERR_BACKPRESSURE), talkers are no longer read from until they read; server RSS within +100 MB`, async t => {
  const target = await startTarget(t, { maxBackpressure: MAX_BACKPRESSURE })
  const rss = watchRss(target.pid)
  const listeners = await Promise.all(Array.from({ length: LISTENERS }, () => attackSocket(t, target.port, { route: '/room' })))
  const talkers = await Promise.all(Array.from({ length: TALKERS }, () => attackSocket(t, target.port)))
  const during = legitEcho(target.port, 'during')
  const published = target.ask<{ published: number }>({ cmd: 'publish', size: MESSAGE, count: MESSAGES }, 120_000)
  const written = await Promise.all(talkers.map(echoFlood))
  t.equal((await published).published, MESSAGES, `${MESSAGES} messages of 64 KiB published to ${LISTENERS} listeners that do not read`)
  t.equal(await during, 'during', 'a legitimate client is echoed during')
  t.comment(`the talkers wrote ${Math.min(...written)} to ${Math.max(...written)} of ${MESSAGES} messages of 64 KiB before the server stopped reading them`)
  t.ok(written.every(n => n < MESSAGES), 'the server stopped reading every talker')
  const stats = await statsWhen(target, s => (s.errors.WS_ERR_BACKPRESSURE ?? 0) >= LISTENERS)
  t.same(stats.errors, { WS_ERR_BACKPRESSURE: LISTENERS }, 'every listener, and nothing else, was failed with WS_ERR_BACKPRESSURE')
  const { idle, peak, grown } = rss.stop()

  // now all read again: a listener gets what the server had queued, then its close 1008 (unless
  // the closeTimeout had torn the connection down first); a talker gets every message it wrote
  // echoed, and its connection lives on
  const [, echoed] = await Promise.all([
    within(Promise.all(listeners.map(a => { a.read(); return a.closed })), 30_000, 'the listeners to be closed'),
    Promise.all(talkers.map((a, i) => readUntil(a, bytes => frameCount(bytes) >= written[i], 'every echo')))
  ])
  const codes = new Set(listeners.map(a => framesIn(a.received()).find(f => f.opcode === 0x8)?.payload.readUInt16BE(0) ?? null))
  t.ok([...codes].every(c => c === 1008 || c === null), `each listener read close 1008, or was dropped (${[...codes].join(', ')})`)
  t.ok(echoed.every((bytes, i) => frameCount(bytes) === written[i] && framesIn(bytes).every(f => f.opcode === 0x2)), 'each talker gets every echo once it reads')
  t.equal(await legitEcho(target.port, 'after'), 'after', 'a legitimate client is echoed after')
  t.comment(`${SLOW} slow consumers, maxBackpressure 256 KiB (${mb(SLOW * MAX_BACKPRESSURE)} MB in all): idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `the server's RSS stays within +100 MB of idle (grew ${mb(grown)} MB)`)
})

t.test("with backpressurePolicy 'drop', slow listeners lose broadcasts, not their connection; server RSS within +100 MB", async t => {
  const slow = Math.min(SLOW, 20) // each keeps what it reads afterwards in this process
  const target = await startTarget(t, { maxBackpressure: MAX_BACKPRESSURE, backpressurePolicy: 'drop' })
  const rss = watchRss(target.pid)
  const listeners = await Promise.all(Array.from({ length: slow }, () => attackSocket(t, target.port, { route: '/room' })))
  const { published } = await target.ask<{ published: number }>({ cmd: 'publish', size: MESSAGE, count: MESSAGES }, 120_000)
  t.equal(published, MESSAGES, `${MESSAGES} messages of 64 KiB published to ${slow} listeners that do not read`)
  const got = await Promise.all(listeners.map(async a => {
    await a.write(frame({ opcode: 0x1, payload: 'alive', mask: true }))
    const bytes = await readUntil(a, b => framesIn(b).some(f => f.opcode === 0x1 && f.payload.toString() === 'alive'), 'the echo after the broadcast')
    return framesIn(bytes).filter(f => f.opcode === 0x2).length
  }))
  t.ok(got.every(n => n < MESSAGES), `each listener is echoed after the broadcast, having received ${Math.min(...got)} to ${Math.max(...got)} of ${MESSAGES} messages`)
  const stats = await target.stats()
  t.same(stats.errors, {}, 'no error on the server')
  t.equal(await legitEcho(target.port, 'after'), 'after', 'a legitimate client is echoed after')
  const { idle, peak, grown } = rss.stop()
  t.comment(`${slow} slow consumers, policy 'drop': idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB)`)
  t.ok(grown < RSS_BOUND, `the server's RSS stays within +100 MB of idle (grew ${mb(grown)} MB)`)
})
