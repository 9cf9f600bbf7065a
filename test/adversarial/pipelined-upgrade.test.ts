// Issue 10, class 1: one packet used to kill the process. A plain request and an upgrade request
// pipelined in one TCP write left the first response bound to the socket when the 'upgrade'
// event came, and the plugin's res.assignSocket() threw ERR_HTTP_SOCKET_ASSIGNED inside Node's
// parser callback: uncaught. The server runs in another process; each test asserts it survives,
// what the attacker's connection got, that a legitimate client still gets an echo, and its RSS.
import t, { type Test } from 'tap'
import { connect, type Socket } from 'node:net'
import { decodeFrames } from '../helpers/frames'
import { clientFrame, handshakeRequest } from '../helpers/raw-client'
import { spawnServer, echoes, mib, until, ECHO_SERVER, FIXTURE_SERVER, RSS_BUDGET, type ServerProcess } from '../helpers/adversary'

const HEAVY = process.env.WS_HEAVY === '1'
const WAIT = 10_000

/** A raw connection that keeps every byte the server sends and notes when the server closes. */
class Peer {
  data = Buffer.alloc(0)
  closed = false
  readonly socket: Socket
  private readonly waiters = new Set<() => void>()
  constructor (port: number) {
    this.socket = connect({ port, host: '127.0.0.1' })
    this.socket.on('data', (c: Buffer) => { this.data = Buffer.concat([this.data, c]); this.notify() })
    this.socket.on('close', () => { this.closed = true; this.notify() })
    this.socket.on('error', () => {})
  }

  get text (): string { return this.data.toString('latin1') }

  /** Resolve once `check` returns something; reject after `ms`. */
  until<T> (what: string, check: () => T | undefined, ms = WAIT): Promise<T> {
    return new Promise((resolve, reject) => {
      const run = (): void => {
        const v = check()
        if (v === undefined) return
        clearTimeout(timer)
        this.waiters.delete(run)
        resolve(v)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(run)
        reject(new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(this.text.slice(0, 600))}`))
      }, ms)
      this.waiters.add(run)
      run()
    })
  }

  /** Status codes of every response head received so far, in order. */
  statuses (): number[] {
    return [...this.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map(m => Number(m[1]))
  }

  /** Frames after the 101's head. */
  frames (): ReturnType<typeof decodeFrames> {
    const text = this.text
    const at = text.indexOf('\r\n\r\n', text.indexOf('HTTP/1.1 101 '))
    try { return decodeFrames(this.data.subarray(at + 4)) } catch { return [] }
  }

  private notify (): void { for (const w of [...this.waiters]) w() }
}

const UPGRADE = handshakeRequest({ path: '/' })

/** The process is alive, a legitimate client gets an echo, RSS is within the budget over `idle`. */
async function stillServing (t: Test, server: ServerProcess, idle: number, what: string): Promise<void> {
  t.ok(server.alive(), `the server process survives ${what}`)
  t.ok(await echoes(server.port), `a legitimate client still gets an echo after ${what}`)
  const rss = server.rss()
  t.ok(rss < idle + RSS_BUDGET, `RSS ${mib(idle)} idle, ${mib(rss)} after ${what} (budget +${mib(RSS_BUDGET)})`)
}

t.test('a plain request and an upgrade in one write: the plain response comes first, then the 101, and the socket echoes', async t => {
  const server = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0'] })
  const idle = server.rss()
  const cases: Array<[string, string, number[]]> = [
    ['GET /', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', [426]],
    ['GET on a 404 path', 'GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n', [404]],
    ['HEAD /', 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', [404]], // HEAD on an upgrade-only route: 404, as @fastify/websocket answers
    ['three GETs', 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3), [404, 404, 404]]
  ]
  for (const [name, before, expected] of cases) {
    const peer = new Peer(server.port)
    t.teardown(() => peer.socket.destroy())
    peer.socket.write(before + UPGRADE)
    await peer.until('a 101', () => /HTTP\/1\.1 101 [^]*?\r\n\r\n/.test(peer.text) ? true : undefined)
    t.same(peer.statuses(), [...expected, 101], `${name}: responses in request order, the 101 last`)
    peer.socket.write(clientFrame(0x1, 'after the pipeline'))
    const echo = await peer.until('an echo', () => peer.frames().find(f => f.opcode === 0x1))
    t.equal(echo.payload.toString(), 'after the pipeline', `${name}: the upgraded socket echoes`)
  }
  await stillServing(t, server, idle, 'pipelined upgrades')
})

t.test('an upgrade pipelined behind a request that closes the connection gets no 101, and the connection closes', async t => {
  const server = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0'] })
  const idle = server.rss()
  const peer = new Peer(server.port)
  t.teardown(() => peer.socket.destroy())
  peer.socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' + UPGRADE)
  await peer.until('the close', () => peer.closed ? true : undefined)
  // Node's parser refuses bytes after a `Connection: close` request (Fastify's clientError
  // handler answers them with a 400): no 'upgrade' event, no 101
  t.equal(peer.statuses()[0], 426, 'the first request is answered')
  t.notOk(peer.statuses().includes(101), 'no 101')
  await stillServing(t, server, idle, 'an upgrade behind Connection: close')
})

t.test('two upgrade requests in one write: the first upgrades, the second is read as WebSocket bytes and fails the socket with 1002', async t => {
  const server = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0'] })
  const idle = server.rss()
  const peer = new Peer(server.port)
  t.teardown(() => peer.socket.destroy())
  peer.socket.write(UPGRADE + UPGRADE)
  const close = await peer.until('a close frame', () => peer.frames().find(f => f.opcode === 0x8))
  t.same(peer.statuses(), [101])
  // RFC 6455 section 5.1: a client frame must be masked; "GET ..." is not a valid frame at all
  t.equal(close.payload.readUInt16BE(0), 1002, 'closed with 1002 Protocol Error')
  await peer.until('the server to close TCP', () => peer.closed ? true : undefined)
  await stillServing(t, server, idle, 'two pipelined upgrades')
})

t.test(`${HEAVY ? 3000 : 300} connections each pipelining a GET and an upgrade all get their 101 and the server stays within budget`, async t => {
  const server = await spawnServer(t, ECHO_SERVER, { args: ['--port', '0'] })
  const idle = server.rss()
  const sampler = server.sampleRss()
  const count = HEAVY ? 3000 : 300
  const peers: Peer[] = []
  t.teardown(() => { for (const p of peers) p.socket.destroy() })
  for (let i = 0; i < count; i++) {
    const peer = new Peer(server.port)
    peer.socket.write('GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\n' + UPGRADE)
    peers.push(peer)
  }
  const upgraded = await Promise.all(peers.map(p => p.until('a 101', () => p.statuses().includes(101) ? true : undefined, 60_000)
    .then(() => true, () => false)))
  const peak = sampler.stop()
  t.equal(upgraded.filter(Boolean).length, count, `all ${count} connections upgraded`)
  t.comment(`RSS: ${mib(idle)} idle, peak ${mib(peak)} with ${count} pipelined upgrades`)
  t.ok(peak < idle + RSS_BUDGET, `peak RSS ${mib(peak)} within +${mib(RSS_BUDGET)} of idle ${mib(idle)}`)
  for (const p of peers) p.socket.destroy()
  await stillServing(t, server, idle, `${count} pipelined upgrades`)
})

t.test('a socket another upgrade listener already destroyed, ended, wrote to or answered is left to it, and the process stays up', async t => {
  const server = await spawnServer(t, FIXTURE_SERVER, { args: ['--config', JSON.stringify({ otherListener: true, log: 'debug' })] })
  const idle = server.rss()
  const cases: Array<[string, (peer: Peer) => Promise<void>]> = [
    ['destroy', async peer => {
      await peer.until('the close', () => peer.closed ? true : undefined)
      t.equal(peer.data.length, 0, 'destroy: nothing written')
    }],
    ['end', async peer => {
      await peer.until('the close', () => peer.closed ? true : undefined)
      t.same(peer.statuses(), [400], 'end: only the other listener\'s 400')
      t.match(peer.text, /\r\n\r\nother$/, 'end: its body, nothing after')
    }],
    ['write', async peer => {
      await peer.until('the other 101', () => peer.text.endsWith('\r\n\r\n') ? true : undefined)
      t.match(peer.text, /Upgrade: other/, 'write: the other listener\'s 101')
    }],
    ['assign', async peer => {
      await peer.until('the close', () => peer.closed ? true : undefined)
      t.same(peer.statuses(), [418], 'assign: only the other listener\'s response')
    }]
  ]
  for (const [mode, check] of cases) {
    const peer = new Peer(server.port)
    t.teardown(() => peer.socket.destroy())
    peer.socket.write(handshakeRequest({ path: `/taken/${mode}` }))
    await check(peer)
    await until('the plugin\'s log line', () => server.logs().some(l => l.url === `/taken/${mode}` &&
      /left alone/.test(String(l.msg)) && l.level === 20)
      ? true
      : undefined)
    t.pass(`${mode}: the plugin logs at debug level that it left the socket alone`)
    if (mode === 'write') t.same(peer.statuses(), [101], 'write: no second response from the plugin')
  }
  // the same, pipelined behind a plain request: the other listener's ServerResponse is not ours
  const peer = new Peer(server.port)
  t.teardown(() => peer.socket.destroy())
  peer.socket.write('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n' + handshakeRequest({ path: '/taken/destroy' }))
  await peer.until('the close', () => peer.closed ? true : undefined)
  await stillServing(t, server, idle, 'upgrades taken by another listener')
})

t.test('an exception thrown synchronously by Fastify\'s routing closes that connection, is logged as an error, and the process stays up', async t => {
  const server = await spawnServer(t, FIXTURE_SERVER, { args: ['--config', JSON.stringify({ throwingConstraint: true })] })
  const idle = server.rss()
  const peer = new Peer(server.port)
  t.teardown(() => peer.socket.destroy())
  peer.socket.write(handshakeRequest({ path: '/', headers: { 'X-Boom': '1' } }))
  await peer.until('the close', () => peer.closed ? true : undefined)
  t.equal(peer.data.length, 0, 'the connection is closed with nothing written')
  await until('the error log line', () => server.logs().some(l => l.level === 50 && /WebSocket upgrade failed/.test(String(l.msg))) ? true : undefined)
  t.pass('logged at error level')
  await stillServing(t, server, idle, 'a throwing router')
})
