// handshakeTimeout through the plugin's one deadline list (lib/plugin/upgrade.ts
// HandshakeDeadlines): upgrades that wait are refused with 503 in the order they came, one that
// completes in between is taken out of the list and stays open past the others' deadlines, and a
// client that goes away while waiting leaves nothing behind.
import t from 'tap'
import { connect } from 'node:net'
import { startApp, rawRequest, openWs, messages, waitFor } from '../helpers/app'

t.test('waiting upgrades time out in order; an upgrade completed between them is left open', async t => {
  const releases: Array<() => void> = []
  const server = await startApp(t, app => {
    // /wait/:n waits for the test to release it; /now completes at once
    app.get('/wait/:n', {
      websocket: true,
      preHandler: (_request, _reply, done) => { releases.push(done) }
    }, socket => { socket.send('released') })
    app.get('/now', { websocket: { message (socket, data) { socket.send(data) } } })
  }, { plugin: { handshakeTimeout: 400 } })

  const refused: string[] = []
  const first = rawRequest(server.port, '/wait/1', {}, { upgrade: true, ms: 5000 }).then(r => { refused.push(`1:${r.status}`) })
  await waitFor(() => releases.length === 1, 5000, 'the first upgrade to wait')
  const open = await openWs(server.ws('/now'))
  t.equal(open.readyState, open.OPEN, 'an upgrade completed while another waits')
  const second = rawRequest(server.port, '/wait/2', {}, { upgrade: true, ms: 5000 }).then(r => { refused.push(`2:${r.status}`) })
  // a client that gives up while waiting: its entry leaves the list with its socket
  const quitter = connect(server.port, '127.0.0.1')
  quitter.on('error', () => {})
  quitter.write('GET /wait/3 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  await waitFor(() => releases.length === 3, 5000, 'three upgrades to wait')
  quitter.destroy()
  await Promise.all([first, second])
  t.same(refused, ['1:503', '2:503'], 'both waiting upgrades got 503, the older first')
  t.equal(open.readyState, open.OPEN, 'the completed one was not touched by their deadlines')
  // hooks that finish after the deadline are discarded
  for (const release of releases) release()
  const echoed = messages(open, 1)
  open.send('still here')
  t.same((await echoed).map(String), ['still here'], 'and it still echoes')
  t.equal(server.app.websocketClients.size, 1, 'no late socket opened')
  open.close()
})
