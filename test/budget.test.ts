// app.websocketMemory(): the gauge of what every socket holds, against the memoryBudget option.
import t from 'tap'
import WS from 'ws'
import Fastify from 'fastify'
import websocket from '../lib/index'
import { startApp, waitFor } from './helpers/app'

for (const memoryBudget of [undefined, 64 * 1024 * 1024]) {
  t.test(`the gauge counts an incomplete message while it arrives and releases it once delivered (budget ${memoryBudget ?? 'none'})`, async t => {
    const got: number[] = []
    const server = await startApp(t, app => {
      app.get('/', { websocket: { message (_s, data) { got.push(data.length) } } })
    }, { plugin: memoryBudget === undefined ? {} : { memoryBudget } })
    t.same(server.app.websocketMemory(), { heldBytes: 0, maxBytes: memoryBudget ?? 0, evictions: 0 })
    const ws = new WS(`ws://127.0.0.1:${server.port}/`)
    await new Promise(resolve => ws.once('open', resolve))
    t.teardown(() => ws.terminate())
    // the first fragments of a message (ws sends them as they are given)
    ws.send(Buffer.alloc(300 * 1024, 1), { fin: false })
    ws.send(Buffer.alloc(300 * 1024, 2), { fin: false })
    await waitFor(() => server.app.websocketMemory().heldBytes >= 600 * 1024, 5000, 'the fragments counted')
    ws.send(Buffer.alloc(10, 3), { fin: true })
    await waitFor(() => got.length === 1, 5000, 'the message delivered')
    t.equal(got[0], 600 * 1024 + 10)
    await waitFor(() => server.app.websocketMemory().heldBytes === 0, 5000, 'the gauge back at 0')
    t.equal(server.app.websocketMemory().evictions, 0)
  })
}

t.test('memoryBudget must be a positive number', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(websocket, { memoryBudget: -1 })
  await t.rejects(async () => { await app.ready() }, { code: 'WS_ERR_INVALID_OPTION' })
})
