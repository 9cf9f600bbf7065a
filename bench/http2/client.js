'use strict'
// The load side of bench/http2/run.js, in a process of its own: opens N WebSockets with the
// library's client, over one HTTP/2 connection (--http2) or N HTTP/1.1 connections, reports
// the handshake rate, waits for the runner to sample the server's memory, then keeps one 32 B
// message in flight per socket for --seconds and reports echoes per second.
//   node bench/http2/client.js --port P --count N --seconds S [--http2]
// Lines on stdout: `opened {json}`, then (after a line `go` on stdin) `done {json}`.
const http2 = require('node:http2')
const path = require('node:path')
const { connect } = require(path.join(__dirname, '..', '..', 'dist', 'client', 'index.js'))

const opt = {}
for (let i = 2; i < process.argv.length; i++) {
  if (!process.argv[i].startsWith('--')) continue
  const next = process.argv[i + 1]
  opt[process.argv[i].slice(2)] = next === undefined || next.startsWith('--') ? true : next
}
const count = Number(opt.count)
const seconds = Number(opt.seconds)
const url = `ws://127.0.0.1:${opt.port}/`

async function main () {
  const session = opt.http2 === true ? http2.connect(`http://127.0.0.1:${opt.port}`) : null
  const started = performance.now()
  // 100 handshakes in flight at a time: the same pressure for both transports
  const sockets = []
  let next = 0
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < count) {
      next++
      sockets.push(await connect(url, session === null ? {} : { http2: session }))
    }
  }))
  const openMs = performance.now() - started
  process.stdout.write(`opened ${JSON.stringify({ count: sockets.length, handshakesPerSec: sockets.length / (openMs / 1000) })}\n`)
  await new Promise(resolve => process.stdin.once('data', resolve))

  const payload = 'x'.repeat(32)
  let echoes = 0
  let running = true
  for (const ws of sockets) {
    ws.on('message', () => {
      echoes++
      if (running) ws.send(payload)
    })
    ws.send(payload)
  }
  await new Promise(resolve => setTimeout(resolve, seconds * 1000))
  running = false
  process.stdout.write(`done ${JSON.stringify({ echoesPerSec: echoes / seconds })}\n`)
  for (const ws of sockets) ws.terminate()
  session?.destroy()
  setTimeout(() => process.exit(0), 200)
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
