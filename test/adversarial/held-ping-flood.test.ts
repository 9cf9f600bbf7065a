// While an async open handler runs, what arrives is held; a peer that floods pings during it (and
// reads our pongs, so the pong bound never trips) must not grow that queue without bound: every
// held event counts toward the hold bound, and past it the server stops reading. The flooder
// runs in a process of its own.
import t from 'tap'
import { spawn } from 'node:child_process'
import type { WebSocket } from '../../lib/index'
import { sessionOf } from '../../lib/session'
import { READ_HELD } from '../../lib/reading'
import { startApp, waitFor } from '../helpers/app'

const FLOODER = `
const net = require('node:net')
const [port, megabytes] = process.argv.slice(1).map(Number)
const s = net.connect(port, '127.0.0.1', () => {
  s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n')
})
s.on('data', () => {}) // read and drop the 101 and every pong
// a masked ping with 125 bytes of payload (zero key), 32 KiB of them per write
const ping = Buffer.concat([Buffer.from([0x89, 0x80 | 125, 0, 0, 0, 0]), Buffer.alloc(125, 7)])
const batch = Buffer.concat(Array(256).fill(ping))
let written = 0
function pump () {
  while (written < megabytes * 1048576) {
    written += batch.length
    if (!s.write(batch)) { s.once('drain', pump); return }
  }
  process.stdout.write('all written\\n')
}
s.once('data', pump)
`

t.test('pings flooded during a slow async open are held within the hold bound, then the server stops reading', async t => {
  let finishOpen: () => void = () => {}
  const sockets: WebSocket[] = []
  let pings = 0
  const server = await startApp(t, app => {
    app.get('/', {
      websocket: {
        open (s) { sockets.push(s); return new Promise<void>(resolve => { finishOpen = resolve }) },
        ping () { pings++ }
      }
    })
  })
  const rssBefore = process.memoryUsage.rss()
  const child = spawn(process.execPath, ['-e', FLOODER, String(server.port), '256'], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill() })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  await waitFor(() => sockets.length === 1, 10_000, 'the socket open')
  const session = sessionOf(sockets[0])
  await waitFor(() => session.reader.has(READ_HELD) || out.includes('all written'), 60_000, 'the hold bound or the end of the flood')
  t.ok(session.reader.has(READ_HELD), 'the server stopped reading while events were held')
  t.notMatch(out, /all written/, 'the flooder could not push its 256 MiB')
  const held = (session.held?.length ?? 0) / 3
  t.ok(session.heldBytes < 2 * 1024 * 1024, `${held} pings held in ${session.heldBytes} bytes (bound 1 MiB and one read)`)
  const grown = process.memoryUsage.rss() - rssBefore
  t.ok(grown < 100 * 1024 * 1024, `RSS grew ${(grown / 1048576).toFixed(1)} MB (bound +100 MB)`)
  finishOpen()
  await waitFor(() => pings >= held, 10_000, 'the held pings delivered')
  t.ok(pings >= held, `every held ping reached the handler (${pings})`)
})
