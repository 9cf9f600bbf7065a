// The cluster adapter in a real node:cluster: a primary running setupPrimary() and two workers,
// each a Fastify app on its own port with clusterAdapter(), forked from fixtures/cluster-app.js
// (dist/ build), and WebSocket clients (ws) here, in the test's process. A publish in one worker
// reaches the subscribers of every worker in one order; a worker killed and forked again is
// forgotten and subscribes anew; a message over maxMessageBytes goes nowhere; a worker that does
// not read its IPC channel gets at most the primary's maxQueueBytes of backlog, the rest dropped.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import WebSocket from 'ws'
import { clusterAdapter } from '../../lib/index'
import { forkPeer, type PeerProcess } from '../helpers/peer-process'

const APP = join(__dirname, 'fixtures', 'cluster-app.js')

interface Ready { ready: string, port: number, pid: number }
interface Client { ws: WebSocket, got: string[] }

/** Fork the cluster's primary (it forks the workers) and wait until each worker listens. */
async function startCluster (t: Test, options: object): Promise<{ peer: PeerProcess, ports: Map<string, number>, next: <T>() => Promise<T> }> {
  // the options travel in the environment, which the primary and its workers inherit
  process.env.CLUSTER_APP_OPTIONS = JSON.stringify(options)
  const peer = forkPeer(APP, {})
  delete process.env.CLUSTER_APP_OPTIONS
  t.teardown(() => peer.stop())
  const next = <T>(): Promise<T> => peer.next<T>(30_000)
  const ports = new Map<string, number>()
  for (let i = 0; i < ((options as { workers?: number }).workers ?? 2); i++) {
    const m = await next<Ready>()
    ports.set(m.ready, m.port)
  }
  return { peer, ports, next }
}

/** Poll until `check` holds (every 10 ms), failing after `ms` with what is known. */
async function until (check: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

async function connect (t: Test, port: number): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/room`)
  const client: Client = { ws, got: [] }
  ws.on('message', data => client.got.push(data.toString()))
  t.teardown(() => ws.terminate())
  await until(() => client.got.length > 0, 20_000, () => `no hello from port ${port}`)
  client.got.shift() // hello <worker>
  return client
}

t.test('a publish in one worker reaches the subscribers of every worker, in one order', async t => {
  const { peer, ports } = await startCluster(t, { maxMessageBytes: 1024 })
  const [a1, a2, b1, b2] = [
    await connect(t, ports.get('a')!), await connect(t, ports.get('a')!),
    await connect(t, ports.get('b')!), await connect(t, ports.get('b')!)
  ]
  // subscriptions travel to the primary before the publish does (each worker's channel is in order)
  a1.ws.send('burst 20 16')
  b1.ws.send('from b')
  const everyone = [a2, b1, b2]
  await until(() => a2.got.length >= 21 && b2.got.length >= 21, 20_000, () => JSON.stringify(everyone.map(c => c.got.length)))
  const fromA = Array.from({ length: 20 }, (_, i) => `a:${i} `.padEnd(16, 'x'))
  for (const c of [a2, b2]) t.same(c.got.filter(m => m.startsWith('a:')), fromA, 'all 20 from worker a, in order, in both workers')
  t.same(a2.got, b2.got, 'the subscribers of both workers saw the same order (the primary\'s)')
  await until(() => a1.got.length >= 1 && b1.got.length >= 20, 20_000, () => `${a1.got.length} ${b1.got.length}`)
  t.same(a1.got, ['from b'], 'the publishing socket got none of its own messages, and the other worker\'s')
  t.same(b1.got, fromA, 'the other publisher got all of worker a\'s and none of its own')

  // too big: not published anywhere (the adapter's maxMessageBytes is 1024 here), then a small one arrives first
  b1.ws.send('big 2000')
  a1.ws.send('after big')
  await until(() => b1.got.length >= 21, 20_000, () => String(b1.got.length))
  t.equal(b1.got[20], 'after big', 'the message over maxMessageBytes reached nobody')
  await until(() => peer.output().includes('WS_ERR_CLUSTER_MESSAGE_TOO_BIG'), 20_000, () => peer.output())
  t.match(peer.output(), /LOG b WS_ERR_CLUSTER_MESSAGE_TOO_BIG/, 'and it was logged by the worker that refused it')
})

t.test('a worker that exits is forgotten; the one forked in its place subscribes again', async t => {
  const { peer, ports, next } = await startCluster(t, {})
  const a = await connect(t, ports.get('a')!)
  const b = await connect(t, ports.get('b')!)
  peer.child.send({ cmd: 'stats' })
  t.same(await next<{ stats: object }>(), { stats: { workers: 2, topics: 1 } }, 'two workers subscribed to one topic')
  const closed = new Promise(resolve => b.ws.once('close', resolve))
  peer.child.send({ cmd: 'kill', name: 'b' })
  await closed
  const again = await next<Ready>()
  t.equal(again.ready, 'b', 'worker b was forked again')
  peer.child.send({ cmd: 'stats' })
  t.same(await next<{ stats: object }>(), { stats: { workers: 1, topics: 1 } }, 'the primary forgot the dead worker')
  const b2 = await connect(t, again.port)
  a.ws.send('to the new b')
  await until(() => b2.got.length >= 1, 20_000, () => 'nothing reached the new worker')
  t.same(b2.got, ['to the new b'], 'a publish in worker a reaches the new worker b')
  t.same(b.got, [], 'the old worker\'s client got nothing after the kill')
})

t.test('a worker that does not read gets at most maxQueueBytes of backlog from the primary; the rest is dropped and logged', async t => {
  // a publishes, b is stuck, c only watches: at most 4 MB/s (4 KiB a millisecond), c keeps up
  // unless it stalls for a quarter of a second (a worker that falls behind by more than the bound
  // loses messages too, which is the point, but not this test's)
  const { peer, ports, next } = await startCluster(t, { workers: 3, primaryQueueBytes: 1024 * 1024 })
  const a = await connect(t, ports.get('a')!)
  const watcher = await connect(t, ports.get('c')!)
  const b = await connect(t, ports.get('b')!)
  peer.child.send({ cmd: 'block', name: 'b', ms: 4000 })
  t.same(await next(), { blocked: 'b' }, 'worker b is busy and reads nothing')
  // 2.4 MB: far more than an IPC socket's kernel buffer and the 1 MiB bound together
  const N = 600
  a.ws.send(`burst ${N} 4096`)
  await until(() => watcher.got.length >= N, 30_000, () => `worker c's subscriber got ${watcher.got.length}: ${peer.output()}`)
  a.ws.send('end')
  await until(() => b.got.at(-1) === 'end', 30_000, () => `worker b's subscriber got ${b.got.length}`)
  const burst = b.got.slice(0, -1)
  t.ok(burst.length > 0 && burst.length < N, `worker b got ${burst.length} of ${N}: the ones over the bound were dropped`)
  const indexes = burst.map(m => Number(/^a:(\d+) /.exec(m)?.[1]))
  t.ok(indexes.every((n, i) => i === 0 || n > indexes[i - 1]), 'those it got are in order')
  t.equal(watcher.got.filter(m => m.startsWith('a:')).length, N, 'the subscriber in a worker that reads got every one')
  await until(() => /LOG primary WS_ERR_CLUSTER_BACKLOG .*caught up/.test(peer.output()), 20_000, () => peer.output())
  t.match(peer.output(), /LOG primary WS_ERR_CLUSTER_BACKLOG .*not reading/, 'the primary logged the start of the drops')
})

t.test('outside a cluster worker the adapter delivers in its own process, and bounds what it publishes', async t => {
  const delivered: string[] = []
  const adapter = clusterAdapter({ maxMessageBytes: 4 })
  adapter.start(m => delivered.push(m.data.toString()))
  t.equal(adapter.clustered, false)
  const warnings: string[] = []
  const a2 = clusterAdapter({ maxMessageBytes: 4, logger: { warn: (o: { err?: { code?: string } }) => warnings.push(o.err?.code ?? ''), error: () => {} } })
  a2.start(m => delivered.push(m.data.toString()))
  await a2.publish({ topic: 't', data: Buffer.from('12345'), binary: false, origin: 'o', exceptSocket: null })
  await adapter.publish({ topic: 't', data: Buffer.from('1234'), binary: false, origin: 'o', exceptSocket: null })
  t.same(delivered, ['1234'], 'delivered here, and the one over maxMessageBytes not at all')
  t.same(warnings, ['WS_ERR_CLUSTER_MESSAGE_TOO_BIG'])
  adapter.close()
  await t.rejects(async () => await adapter.publish({ topic: 't', data: Buffer.from('x'), binary: false, origin: 'o', exceptSocket: null }), { code: 'WS_ERR_CONNECTION_CLOSED' })
  t.throws(() => clusterAdapter({ maxQueueBytes: 0 }), { code: 'WS_ERR_INVALID_OPTION' })
})
