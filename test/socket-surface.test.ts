// The public socket is ws's surface only (issue 17): the machinery sits on one Session behind a
// private symbol. (That no module calls underscore members of the socket, the compiler checks:
// they no longer exist.)
import t from 'tap'
import { connect } from '../lib/client/index'
import { WebSocket } from '../lib/socket'
import { Session, sessionOf } from '../lib/session'
import { kSession } from '../lib/symbols'
import { startApp, waitFor } from './helpers/app'

/** ws's one underscore member that code written for ws reads (ws.createWebSocketStream does) */
const WS_UNDERSCORE = new Set(['_socket'])

/** What the socket and its class add (EventEmitter's own _events, _eventsCount and _maxListeners are Node's, on ws's socket too). */
const NODE_FIELDS = new Set(['_events', '_eventsCount', '_maxListeners'])

function underscoreNames (socket: WebSocket): string[] {
  return [...Object.getOwnPropertyNames(socket), ...Object.getOwnPropertyNames(WebSocket.prototype)]
    .filter(n => n.startsWith('_') && !NODE_FIELDS.has(n) && !WS_UNDERSCORE.has(n))
}

t.test('server and client sockets show no underscore members but ws\'s _socket, and keep their machinery behind one symbol', async t => {
  const sockets: WebSocket[] = []
  const server = await startApp(t, app => {
    app.get('/', { websocket: true }, socket => {
      sockets.push(socket)
      socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }))
    })
  })
  const client = await connect(`ws://127.0.0.1:${server.port}/`)
  t.teardown(() => client.terminate())
  await waitFor(() => sockets.length === 1, 5000, 'the server socket')
  const echoed = new Promise<Buffer>(resolve => client.once('message', resolve))
  client.send('hello')
  t.equal((await echoed).toString(), 'hello', 'the pair works')

  for (const [name, socket] of [['server', sockets[0]], ['client', client]] as const) {
    t.same(underscoreNames(socket), [], `${name}: no underscore members`)
    t.same(Object.getOwnPropertySymbols(socket).filter(s => s === kSession), [kSession], `${name}: one session field`)
    const session = sessionOf(socket)
    t.ok(session instanceof Session, `${name}: sessionOf finds its Session`)
    t.equal(session.socket, socket, `${name}: the session knows its socket`)
    t.equal(socket._socket, session.stream, `${name}: _socket is the session's stream`)
  }
})
