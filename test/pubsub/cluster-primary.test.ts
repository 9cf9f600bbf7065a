// setupPrimary() in this test's own process, the cluster's primary (cluster.isPrimary holds in any
// process that is not a worker), relaying between two workers it forks from fixtures/cluster-app.js
// (their worker half: a Fastify app on clusterAdapter(), dist/ build). WebSocket clients (ws) here.
// cluster.test.ts runs the primary in a process of its own; here its relay is this process's code.
import t, { type Test } from 'tap'
import cluster, { type Worker } from 'node:cluster'
import { join } from 'node:path'
import WebSocket from 'ws'
import { setupPrimary } from '../../lib/index'

const APP = join(__dirname, 'fixtures', 'cluster-app.js')

async function until (check: () => boolean, what: () => string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/** Fork a worker named `name` and resolve its port once it listens. */
function fork (t: Test, name: string, options: object = {}): Promise<{ worker: Worker, port: number }> {
  const worker = cluster.fork({ WORKER_NAME: name, CLUSTER_APP_OPTIONS: JSON.stringify(options) })
  t.teardown(() => { if (!worker.isDead()) worker.process.kill('SIGKILL') })
  return new Promise((resolve, reject) => {
    worker.on('message', (m: { ready?: boolean, port?: number }) => { if (m?.ready === true) resolve({ worker, port: m.port as number }) })
    worker.once('exit', code => reject(new Error(`worker ${name} exited with ${String(code)}`)))
  })
}

async function client (t: Test, port: number): Promise<{ ws: WebSocket, got: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/room`)
  const got: string[] = []
  ws.on('message', data => got.push(data.toString()))
  t.teardown(() => ws.terminate())
  await until(() => got.length > 0, () => `no hello from ${port}`)
  got.shift()
  return { ws, got }
}

t.test('the primary relays a topic between its workers, counts them, forgets one that exits, and stops on close()', async t => {
  t.throws(() => setupPrimary({ serialization: 'xml' as 'json' }), { code: 'WS_ERR_INVALID_OPTION' })
  t.throws(() => setupPrimary({ maxQueueBytes: 0 }), { code: 'WS_ERR_INVALID_OPTION' })
  const logged: string[] = []
  const relay = setupPrimary({ maxMessageBytes: 64, logger: { warn: (o: { err?: { code?: string } }) => logged.push(o.err?.code ?? ''), error: () => {} } })
  cluster.setupPrimary({ exec: APP, args: [], silent: true })
  const a = await fork(t, 'a')
  const b = await fork(t, 'b')
  const [a1, b1] = [await client(t, a.port), await client(t, b.port)]
  await until(() => relay.workers === 2 && relay.topics === 1, () => `${relay.workers} workers, ${relay.topics} topics`)
  a1.ws.send('hello from a')
  b1.ws.send('hello from b')
  await until(() => a1.got.length >= 1 && b1.got.length >= 1, () => `${a1.got} / ${b1.got}`)
  t.same(b1.got, ['hello from a'], 'worker a\'s publish reached worker b\'s subscriber through this process')
  t.same(a1.got, ['hello from b'])

  // past the primary's maxMessageBytes (64 here; the workers' own bound is the plugin's maxPayload)
  a1.ws.send('big 100')
  a1.ws.send('small after')
  await until(() => b1.got.length >= 2, () => b1.got.join(','))
  t.equal(b1.got[1], 'small after', 'the message over the primary\'s bound was not relayed')
  t.ok(logged.includes('WS_ERR_CLUSTER_MESSAGE_TOO_BIG'), 'and logged by the primary')

  const closed = new Promise(resolve => b1.ws.once('close', resolve))
  b.worker.process.kill('SIGKILL')
  await closed
  await until(() => relay.workers === 1, () => `${relay.workers} workers`)
  t.equal(relay.topics, 1, 'worker a still has the topic')
  relay.close()
  a1.ws.send('after close')
  const b2 = await client(t, (await fork(t, 'c')).port)
  b2.ws.send('to nobody')
  await new Promise(resolve => setTimeout(resolve, 200))
  t.same(a1.got, ['hello from b'], 'a closed relay relays nothing')
})
