// Issue 10, a class already survived, kept that way: hostile opening-handshake headers.
// Thousands of headers (past Node's 16 KiB head limit, past its 2,000-header count, one header
// repeated), and the shapes that make backtracking parsers take quadratic or exponential time
// in Sec-WebSocket-Protocol and Sec-WebSocket-Extensions (long runs of separators, thousands of
// tokens, offers or parameters, unterminated quoted strings, endless digits). Each is sent many
// times at once to a server in another process (permessage-deflate on, so the extension offers
// are parsed and negotiated); each request must get an answer (the bounded wait would catch a
// parser stuck in backtracking), the process must survive, a legitimate client must still get
// an echo, and RSS must stay within budget.
import t from 'tap'
import { connect } from 'node:net'
import { handshakeRequest, type RequestSpec } from '../helpers/raw-client'
import { spawnServer, echoes, mib, FIXTURE_SERVER, RSS_BUDGET } from '../helpers/adversary'

const HEAVY = process.env.WS_HEAVY === '1'
const REPEAT = HEAVY ? 200 : 20

/** Send `request` on a fresh connection; resolve the response's status code, 0 if the server closed without one. */
function statusOf (port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let data = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no answer within 30 s')) }, 30_000)
    const done = (status: number): void => { clearTimeout(timer); socket.destroy(); resolve(status) }
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(data)
      if (m !== null) done(Number(m[1]))
    })
    socket.on('error', () => {})
    socket.on('close', () => done(0))
    socket.write(request)
  })
}

function many (name: string, n: number, value: string): Record<string, string[]> {
  return { [name]: Array.from({ length: n }, () => value) }
}

interface Case { name: string, path?: string, headers: RequestSpec['headers'], expect: number[] }

const cases: Case[] = [
  // Node's 16 KiB limit on the request head: refused before the plugin sees anything
  { name: '5,000 tiny headers (30 KiB)', headers: many('X-A', 5000, 'b'), expect: [431] },
  { name: 'one 20 KiB header', headers: { 'X-Big': 'a'.repeat(20 * 1024) }, expect: [431] },
  { name: '500 tiny headers', headers: many('a', 500, 'b'), expect: [101] },
  // inside 16 KiB: Node 20 keeps the first 2,000 (maxHeadersCount; the handshake's headers come
  // first), Node 22 and later refuse somewhere past 500 headers with 431
  { name: '3,000 empty headers inside 16 KiB', headers: many('a', 3000, ''), expect: [101, 431] },
  // one header repeated as often as fits (Node joins the values with ', ')
  { name: 'Sec-WebSocket-Key 300 times', headers: many('Sec-WebSocket-Key', 300, 'dGhlIHNhbXBsZSBub25jZQ=='), expect: [400] },
  { name: 'Sec-WebSocket-Version 500 times', headers: many('Sec-WebSocket-Version', 500, '13'), expect: [400, 426] },
  { name: 'Connection: 3,000 tokens', headers: { Connection: 'keep-alive, '.repeat(1300) + 'Upgrade' }, expect: [101] },
  // Sec-WebSocket-Protocol on a route that speaks chat.v2 and chat.v1
  { name: 'Sec-WebSocket-Protocol: 15,000 commas', path: '/chat', headers: { 'Sec-WebSocket-Protocol': ','.repeat(15000) }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Protocol: 15,000 spaces then chat.v1', path: '/chat', headers: { 'Sec-WebSocket-Protocol': ' '.repeat(15000) + 'chat.v1' }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Protocol: 4,000 tokens then chat.v1', path: '/chat', headers: { 'Sec-WebSocket-Protocol': 'a, '.repeat(4000) + 'chat.v1' }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Protocol: ", ," 5,000 times', path: '/chat', headers: { 'Sec-WebSocket-Protocol': ' ,'.repeat(5000) + 'x' }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Protocol repeated 500 times', path: '/chat', headers: many('Sec-WebSocket-Protocol', 500, 'a'), expect: [101, 400] },
  { name: 'Sec-WebSocket-Protocol: one 15,000-character token', path: '/chat', headers: { 'Sec-WebSocket-Protocol': 'c'.repeat(15000) }, expect: [101, 400] },
  // Sec-WebSocket-Extensions, with permessage-deflate on
  { name: 'Sec-WebSocket-Extensions: 2,500 parameters', headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' + '; a=1'.repeat(2500) }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Extensions: 700 offers', headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate, '.repeat(700) + 'permessage-deflate' }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Extensions: an unterminated quoted string of escapes', headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; a="' + '\\a'.repeat(7000) }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Extensions: 15,000 semicolons', headers: { 'Sec-WebSocket-Extensions': ';'.repeat(15000) }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Extensions: " ;" 7,000 times', headers: { 'Sec-WebSocket-Extensions': 'x' + ' ;'.repeat(7000) }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Extensions: a window size of 15,000 digits', headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits=' + '9'.repeat(15000) }, expect: [101, 400] },
  { name: 'Sec-WebSocket-Extensions repeated 300 times', headers: many('Sec-WebSocket-Extensions', 300, 'permessage-deflate'), expect: [101, 400] }
]

t.test(`hostile handshake headers, each sent ${REPEAT} times at once, all get an answer and the server keeps serving`, async t => {
  const server = await spawnServer(t, FIXTURE_SERVER, { args: ['--config', JSON.stringify({ plugin: { perMessageDeflate: true }, log: 'silent' })] })
  const idle = server.rss()
  for (const c of cases) {
    const request = handshakeRequest({ path: c.path ?? '/', headers: c.headers })
    const sampler = server.sampleRss(50)
    const started = performance.now()
    const statuses = await Promise.all(Array.from({ length: REPEAT }, () => statusOf(server.port, request)))
    const ms = performance.now() - started
    const peak = sampler.stop()
    const seen = [...new Set(statuses)].sort()
    t.ok(statuses.every(s => c.expect.includes(s)), `${c.name}: answered ${seen.join('/')} (allowed ${c.expect.join('/')})`)
    t.ok(peak < idle + RSS_BUDGET, `${c.name}: peak RSS ${mib(peak)} within +${mib(RSS_BUDGET)} of idle ${mib(idle)}`)
    t.comment(`${c.name}: ${REPEAT} requests (${(request.length / 1024).toFixed(1)} KiB each) answered in ${ms.toFixed(0)} ms`)
    t.ok(server.alive(), `${c.name}: the server process survives`)
  }
  t.ok(await echoes(server.port), 'a legitimate client still gets an echo')
  t.ok(await echoes(server.port, '/chat'), 'and on /chat')
  t.comment(`RSS: ${mib(idle)} idle, ${mib(server.rss())} after every case`)
})
