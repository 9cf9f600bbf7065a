// A socket failed by the 'close' backpressure policy still reads the peer's answer to its close
// frame and its FIN: stopping reads while output is over maxBackpressure must end once the
// connection is closing, or the connection can only end by closeTimeout. The peer, a ws client
// that reads nothing for a while, runs in a process of its own.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { WebSocket } from '../../lib/index'
import { startApp, waitFor } from '../helpers/app'

const PEER = `
const WS = require(${JSON.stringify(join(__dirname, '..', '..', 'node_modules', 'ws'))})
const ws = new WS(process.argv[1])
ws.on('open', () => {
  ws._socket.pause() // read nothing until the server has given up on us
  process.stdout.write('open\\n')
  process.stdin.once('data', () => ws._socket.resume())
})
let bytes = 0
ws.on('message', data => { bytes += data.length })
ws.on('close', code => { process.stdout.write('close ' + code + ' ' + bytes + '\\n'); process.exit(0) })
`

t.test('a socket closed by the backpressure policy completes the closing handshake with a peer that reads late', async t => {
  const closes: number[] = []
  const sockets: WebSocket[] = []
  const server = await startApp(t, app => {
    app.get('/', { websocket: { open (s) { sockets.push(s) }, close (_s, code) { closes.push(code) } } })
  }, { plugin: { maxBackpressure: 256 * 1024, backpressurePolicy: 'close', closeTimeout: 120_000 } })
  const child = spawn(process.execPath, ['-e', PEER, `ws://127.0.0.1:${server.port}/`], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill() })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  await waitFor(() => out.includes('open') && sockets.length === 1, 10_000, 'the peer open')
  const socket = sockets[0]
  // One 1 MiB message per turn: each is accepted while what is buffered is under the bound,
  // and written out at the end of the turn, so the output is over maxBackpressure (and the
  // peer no longer read) before a later send meets the bound and the policy fails the socket.
  const chunk = Buffer.alloc(1024 * 1024, 1)
  for (let i = 0; i < 200 && socket.readyState === 1; i++) {
    socket.send(chunk)
    await new Promise(resolve => setImmediate(resolve))
  }
  t.not(socket.readyState, 1, 'the policy closed the socket')
  child.stdin.write('read now\n')
  // with a 120 s closeTimeout, only reading the peer's answer (its close and FIN) can end this
  // within the wait
  await waitFor(() => closes.length === 1, 30_000, 'the server socket closed')
  t.equal(closes[0], 1006, 'reported as a failed connection (RFC 6455 section 7.1.7: the server failed it)')
  t.equal(socket.readyState, 3)
  await waitFor(() => out.includes('close '), 10_000, 'the peer closed')
  t.match(out, /close 1008 \d+/, 'the peer got the 1008 close after what was written before it')
})
