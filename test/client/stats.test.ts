// `stats` on a client socket (lib/stats.ts): messages and bytes each way and the close, counted
// against a `ws` echo server in another process. A client frame of n < 126 bytes is 2 + 4 (mask)
// + n bytes on the wire, a server frame 2 + n.
import t from 'tap'
import { join } from 'node:path'
import { once } from 'node:events'
import { connect } from '../../lib/client/connect'
import { forkPeer } from '../helpers/peer-process'

t.test('a client socket counts its messages and bytes each way', async t => {
  const server = forkPeer(join(__dirname, '..', 'fixtures', 'ws-echo-server.js'), {})
  t.teardown(() => server.stop())
  const { port } = await server.next<{ port: number }>(10_000)
  const ws = await connect(`ws://127.0.0.1:${port}/`)
  t.same(ws.stats, { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, compressionSavedIn: 0, compressionSavedOut: 0, queuedBytes: 0 }, 'nothing yet')
  const echoed = new Promise<void>(resolve => {
    let n = 0
    ws.on('message', () => { if (++n === 3) resolve() })
  })
  for (let i = 0; i < 3; i++) ws.send(Buffer.alloc(50), { binary: true })
  await echoed
  t.same(ws.stats, { messagesIn: 3, messagesOut: 3, bytesIn: 3 * 52, bytesOut: 3 * 56, compressionSavedIn: 0, compressionSavedOut: 0, queuedBytes: 0 },
    'three messages of 50 bytes each way, frames counted exactly')
  ws.send('bye')
  const [code] = await once(ws, 'close') as [number]
  t.equal(code, 4003, 'the server closed with 4003')
  t.equal(ws.stats.messagesOut, 4, 'the last message counted')
  t.equal(ws.stats.bytesIn, 3 * 52 + 4, 'the close frame read (code only)')
  t.equal(ws.stats.bytesOut, 3 * 56 + 9 + 8, 'and ours: "bye" then the echoed close')
})
