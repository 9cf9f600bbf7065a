// The sharedReads option: false keeps Node's ordinary 'data' events for the plugin's sockets and
// the client's, and both paths carry the same bytes.
import t from 'tap'
import WS from 'ws'
import { connect } from '../../lib/client/index'
import type { WebSocket } from '../../lib/index'
import { sessionOf } from '../../lib/session'
import { startApp, waitFor } from '../helpers/app'

const sharedReadsOff = process.env.FASTIFY_RFC6455_SHARED_READS === '0'

for (const sharedReads of [true, false]) {
  t.test(`sharedReads ${sharedReads}: the server and client sockets ${sharedReads && !sharedReadsOff ? 'read into the shared buffer' : 'keep a data listener'} and echo 200 messages in order`, async t => {
    const sockets: WebSocket[] = []
    const server = await startApp(t, app => {
      app.get('/', { websocket: true }, socket => {
        sockets.push(socket)
        socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }))
      })
    }, { plugin: { sharedReads } })
    const dataListeners = sharedReads && !sharedReadsOff ? 0 : 1
    const plain = new WS(`ws://127.0.0.1:${server.port}/`)
    await new Promise(resolve => plain.once('open', resolve))
    t.teardown(() => plain.terminate())
    await waitFor(() => sockets.length === 1, 2000, 'the server socket')
    t.equal(sessionOf(sockets[0]).stream.listenerCount('data'), dataListeners, 'server socket')

    const client = await connect(`ws://127.0.0.1:${server.port}/`, { sharedReads })
    t.teardown(() => client.terminate())
    t.equal(sessionOf(client).stream.listenerCount('data'), dataListeners, 'client socket')
    const got: string[] = []
    client.on('message', (data: Buffer) => got.push(data.toString()))
    for (let i = 0; i < 200; i++) client.send(`m${i}:${'x'.repeat(i * 37)}`)
    await waitFor(() => got.length === 200, 10_000, '200 echoes')
    t.ok(got.every((m, i) => m === `m${i}:${'x'.repeat(i * 37)}`), 'every echo whole and in order')
  })
}
