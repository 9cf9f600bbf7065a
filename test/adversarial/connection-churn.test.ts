// Connection churn (issue 10, "10,000 connections coming and going"): a client process
// (fixtures/churn-client.js) opens WebSockets to the server (fixtures/target-server.js, its own
// process), 200 at a time; each is echoed once and then goes by a clean close, a reset, a FIN
// without a close frame, or a close frame and a reset at once. After they are all gone: the
// server holds no WebSocket (its registry is empty), its file descriptors are back at their
// idle count (no socket leaks), its RSS after a full GC is back within +50 MB of idle, and a
// legitimate client is echoed. The peak during the churn is within +100 MB too.
// Quick: 2,000 connections; WS_HEAVY=1: 10,000.
import t from 'tap'
import path from 'node:path'
import { forkPeer } from '../helpers/peer-process'
import { HEAVY, MiB, RSS_BOUND, legitEcho, mb, startTarget, statsWhen, watchRss } from '../helpers/attack'

const COUNT = HEAVY ? 10_000 : 2_000
const CONCURRENCY = 200
/** what a server may keep after its connections are gone: V8's and malloc's high-water marks, not sockets */
const AFTER_BOUND = 50 * MiB

t.test(`${COUNT} WebSockets coming and going leave no socket, no file descriptor and at most +50 MB of RSS behind (peak within +100 MB)`, async t => {
  const target = await startTarget(t, {}, ['--expose-gc'])
  t.equal(await legitEcho(target.port, 'warm-up'), 'warm-up', 'a first client is echoed')
  const idleStats = await statsWhen(target, s => s.sockets === 0)
  const idle = (await target.ask<{ rss: number }>({ cmd: 'gc' })).rss
  const rss = watchRss(target.pid)
  const churn = forkPeer(path.join(__dirname, 'fixtures', 'churn-client.js'), { port: target.port, count: COUNT, concurrency: CONCURRENCY })
  t.teardown(() => churn.stop())
  const during = legitEcho(target.port, 'during the churn')
  const result = await churn.next<{ opened: number, echoed: number, failed: number }>(120_000)
  t.equal(await during, 'during the churn', 'a legitimate client is echoed during the churn')
  t.same(result, { opened: COUNT, echoed: COUNT, failed: 0 }, `all ${COUNT} opened and were echoed`)
  const { peak, grown } = rss.stop()

  const after = await statsWhen(target, s => s.sockets === 0 && s.fds <= idleStats.fds)
  t.equal(after.sockets, 0, 'the server holds no WebSocket')
  t.equal(after.opened - idleStats.opened, COUNT + 1, `it served all ${COUNT} (and the legitimate client)`)
  t.ok(after.fds <= idleStats.fds, `its file descriptors are back at ${after.fds} (idle: ${idleStats.fds})`)
  t.same(Object.keys(after.errors), [], `no socket reported an error (closes: ${JSON.stringify(after.closes)})`)
  const settled = (await target.ask<{ rss: number }>({ cmd: 'gc' })).rss
  t.comment(`${COUNT} connections: idle RSS ${mb(idle)} MB, peak ${mb(peak)} MB (+${mb(grown)} MB), after and a GC ${mb(settled)} MB (+${mb(settled - idle)} MB)`)
  t.ok(grown < RSS_BOUND, `the peak RSS stays within +100 MB of idle (grew ${mb(grown)} MB)`)
  t.ok(settled - idle < AFTER_BOUND, `after the churn RSS is back within +50 MB of idle (+${mb(settled - idle)} MB)`)
  t.equal(await legitEcho(target.port, 'after the churn'), 'after the churn', 'a legitimate client is echoed after the churn')
})
