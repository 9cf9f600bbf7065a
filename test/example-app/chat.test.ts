// The chat demo over real sockets with `ws` clients: log in, join, history, presence,
// broadcast, refusals (401, 403, 400), invalid messages, message size, slow consumers,
// unsubscribe on close, heartbeat and shutdown.
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createHmac } from 'node:crypto'
import type { Socket } from 'node:net'
import WS from 'ws'
import { buildApp, sameOrigin, type ChatApp, type ChatAppOptions } from '../../example-app/app.js'
import type { WebSocket as ServerSocket } from '../../lib/index'
import { chatEvent } from '../helpers/chat-frames'

interface ChatEvent {
  type: string
  [key: string]: any
}

interface Server {
  app: ChatApp
  base: string
  wsBase: string
  /** server-side sockets by nickname, in order of connection */
  sockets: Map<string, ServerSocket[]>
  login (nickname: string): Promise<string>
  join (nickname: string, room?: string, options?: WS.ClientOptions): Promise<Member>
}

interface Member {
  client: WS
  events: ChatEvent[]
  welcome: ChatEvent
  /** the next event of `type` not yet taken */
  next (type: string): Promise<ChatEvent>
  say (text: string): void
}

async function start (t: Test, options: ChatAppOptions = {}): Promise<Server> {
  const sockets = new Map<string, ServerSocket[]>()
  const app = await buildApp({
    ...options,
    onConnection (socket, req) {
      const nick = (req as unknown as { chatSession: { nickname: string } }).chatSession.nickname
      sockets.set(nick, [...(sockets.get(nick) ?? []), socket])
      options.onConnection?.(socket, req)
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const base = `http://127.0.0.1:${port}`
  const wsBase = `ws://127.0.0.1:${port}`
  const server: Server = {
    app,
    base,
    wsBase,
    sockets,
    async login (nickname) {
      const res = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nickname }) })
      t.equal(res.status, 200, `login ${nickname}`)
      return ((await res.json()) as { token: string }).token
    },
    async join (nickname, room = 'lobby', options = {}) {
      const token = await server.login(nickname)
      const client = new WS(`${wsBase}/chat/${room}`, offer(token), { origin: base, ...options })
      t.teardown(() => client.terminate())
      return member(client)
    }
  }
  return server
}

async function member (client: WS): Promise<Member> {
  const events: ChatEvent[] = []
  const waiters: Array<{ type: string, resolve: (e: ChatEvent) => void }> = []
  const taken = new Set<ChatEvent>()
  client.on('message', (data: Buffer) => {
    const event = chatEvent<ChatEvent>(data) // the room's messages carry a resume header
    if (event === null) return
    events.push(event)
    const w = waiters.findIndex(w => w.type === event.type)
    if (w >= 0) {
      taken.add(event)
      waiters.splice(w, 1)[0].resolve(event)
    }
  })
  const m: Member = {
    client,
    events,
    welcome: { type: 'none' },
    next (type) {
      const ready = events.find(e => e.type === type && !taken.has(e))
      if (ready !== undefined) {
        taken.add(ready)
        return Promise.resolve(ready)
      }
      return new Promise(resolve => waiters.push({ type, resolve }))
    },
    say (text) { client.send(JSON.stringify({ type: 'message', text })) }
  }
  await once(client, 'open')
  m.welcome = await m.next('welcome')
  return m
}

/** The refusal a handshake gets: status and JSON body. */
function refusal (url: string, options: WS.ClientOptions = {}, protocols: string | string[] = 'chat.v1'): Promise<{ status: number, body: any }> {
  return new Promise((resolve, reject) => {
    const client = new WS(url, protocols, options)
    client.on('open', () => { client.terminate(); reject(new Error('handshake accepted')) })
    client.on('error', () => {})
    client.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body === '' ? null : JSON.parse(body) }))
    })
  })
}

/** The subprotocols a client offers: chat.v1 and its token (the page does the same). */
function offer (token: string): string[] {
  return ['chat.v1', `token.${token}`]
}

function sign (secret: string, payload: unknown): string {
  const part = Buffer.from(JSON.stringify(payload)).toString('base64url')
  return `${part}.${createHmac('sha256', secret).update(part).digest('base64url')}`
}

t.test('login validates the nickname with a schema and returns a token that /api/check accepts', async t => {
  const { base } = await start(t)
  const post = (body: unknown): Promise<Response> =>
    fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const ok = await post({ nickname: 'Zoë 2' })
  t.equal(ok.status, 200)
  const { token, nickname, expiresAt } = await ok.json() as { token: string, nickname: string, expiresAt: number }
  t.equal(nickname, 'Zoë 2')
  t.ok(expiresAt > Date.now())
  t.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/, 'base64url(payload).base64url(HMAC-SHA256)')
  const check = await fetch(`${base}/api/check`, { headers: { authorization: `Bearer ${token}` } })
  t.same(await check.json(), { ok: true, nickname: 'Zoë 2', expiresAt })

  for (const bad of [{ nickname: '' }, { nickname: 'x'.repeat(25) }, { nickname: '<script>' }, { nickname: 'two  spaces' },
    { nickname: ' lead' }, { nickname: 'new\nline' }, {}]) {
    const res = await post(bad)
    t.equal(res.status, 400, `refused: ${JSON.stringify(bad)}`)
  }
})

t.test('joining a room: chat.v1 is selected, deflate negotiated, and the welcome lists the members and history', async t => {
  const { join } = await start(t)
  const ada = await join('ada')
  t.equal(ada.client.protocol, 'chat.v1')
  t.match(ada.client.extensions, /^permessage-deflate/)
  t.same(ada.welcome, { type: 'welcome', room: 'lobby', you: 'ada', members: ['ada'], history: [] })
})

t.test('a message reaches everyone in the room, sender included, and nobody in another room', async t => {
  const { join } = await start(t)
  const ada = await join('ada')
  const bob = await join('bob')
  const eve = await join('eve', 'elsewhere')
  ada.say('hello, bob')
  const [a, b] = await Promise.all([ada.next('message'), bob.next('message')])
  t.match(b, { type: 'message', from: 'ada', text: 'hello, bob', id: Number, at: Number })
  t.same(a, b, 'the sender sees the same event, with its id and time')
  eve.say('anyone?')
  t.match(await eve.next('message'), { from: 'eve', text: 'anyone?' })
  t.notOk(ada.events.some(e => e.text === 'anyone?'), 'rooms are separate topics')
  t.notOk(eve.events.some(e => e.text === 'hello, bob'))
})

t.test('a newcomer gets the last 50 messages as history, oldest first', async t => {
  const { join } = await start(t)
  const ada = await join('ada')
  for (let i = 1; i <= 55; i++) ada.say(`message ${i}`)
  for (let i = 1; i <= 55; i++) await ada.next('message')
  const bob = await join('bob')
  const history = bob.welcome.history as ChatEvent[]
  t.equal(history.length, 50)
  t.same(history.map(m => m.text), Array.from({ length: 50 }, (_, i) => `message ${i + 6}`))
  t.ok(history.every(m => m.from === 'ada' && m.type === 'message'))
})

t.test('presence: joins and leaves are announced to the others, once per nickname', async t => {
  const { join } = await start(t)
  const ada = await join('ada')
  const bob = await join('bob')
  t.same(bob.welcome.members, ['ada', 'bob'])
  t.match(await ada.next('join'), { nickname: 'bob', at: Number })
  t.notOk(bob.events.some(e => e.type === 'join'), 'the newcomer is not told of its own join')

  const bob2 = await join('bob') // a second tab
  t.same(bob2.welcome.members, ['ada', 'bob'])
  bob.client.close()
  await once(bob.client, 'close')
  bob2.client.close()
  t.match(await ada.next('leave'), { nickname: 'bob' })
  await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(ada.events.filter(e => e.type === 'join').length, 1, 'the second tab did not announce a join')
  t.equal(ada.events.filter(e => e.type === 'leave').length, 1, 'bob left once, with his last connection')
  const carol = await join('carol')
  t.same(carol.welcome.members, ['ada', 'carol'])
})

t.test('closing a socket unsubscribes it from its room', async t => {
  const { app, join, sockets } = await start(t)
  const ada = await join('ada')
  const bob = await join('bob')
  t.same([...app.websocketSubscribers('room:lobby')], [sockets.get('ada')![0], sockets.get('bob')![0]])
  bob.client.terminate()
  await ada.next('leave')
  t.same([...app.websocketSubscribers('room:lobby')], [sockets.get('ada')![0]])
  t.same([...sockets.get('bob')![0].topics], [])
})

t.test('a missing, forged, malformed or expired token is refused with 401 before the upgrade', async t => {
  const secret = 'test secret'
  const { wsBase, base, app } = await start(t, { secret })
  // [name, subprotocols offered, reason, query string]
  const cases: Array<[string, string[], string, string?]> = [
    ['no token', ['chat.v1'], 'missing'],
    ['garbage', offer('garbage'), 'malformed'],
    ['another secret', offer(sign('other secret', { n: 'ada', exp: Date.now() + 60_000 })), 'bad-signature'],
    ['a tampered nickname', offer(app.chat.tokens.sign('ada').token.replace(/^[^.]+/, Buffer.from('{"n":"root","exp":9e15}').toString('base64url'))), 'bad-signature'],
    ['a payload that is not JSON', offer(`${Buffer.from('nope').toString('base64url')}.${createHmac('sha256', secret).update(Buffer.from('nope').toString('base64url')).digest('base64url')}`), 'malformed'],
    ['a payload without exp', offer(sign(secret, { n: 'ada' })), 'malformed'],
    ['an expired token', offer(app.chat.tokens.sign('ada', Date.now() - 1000).token), 'expired'],
    ['a token over 512 characters', offer(`${'a'.repeat(600)}.b`), 'malformed'],
    ['a good token in the query string (read from the subprotocols only)', ['chat.v1'], 'missing', `?token=${app.chat.tokens.sign('ada').token}`]
  ]
  for (const [name, protocols, reason, query = ''] of cases) {
    const { status, body } = await refusal(`${wsBase}/chat/lobby${query}`, { origin: base }, protocols)
    t.equal(status, 401, name)
    t.equal(body.reason, reason, `${name}: ${reason}`)
  }
  const expired = app.chat.tokens.sign('ada', Date.now() - 1000).token
  const check = await fetch(`${base}/api/check`, { headers: { authorization: `Bearer ${expired}` } })
  t.equal(check.status, 401)
  t.same(await check.json(), { ok: false, reason: 'expired', message: 'your session expired, log in again' })
  t.equal(app.websocketClients.size, 0, 'no socket was opened')
})

t.test('a page of another origin is refused with 403; the same origin and non-browser clients are not', async t => {
  const { wsBase, base, login } = await start(t)
  const token = await login('ada')
  const target = `${wsBase}/chat/lobby`
  for (const origin of ['http://evil.example', 'https://127.0.0.1.evil.example', `ftp://127.0.0.1:${new URL(base).port}`, 'null', 'not a url']) {
    t.equal((await refusal(target, { origin }, offer(token))).status, 403, origin)
  }
  const same = await member(new WS(target, offer(token), { origin: base.replace('http', 'HTTP') }))
  t.equal(same.welcome.you, 'ada', 'the page origin is accepted')
  same.client.close()
  const cli = await member(new WS(target, offer(token)))
  t.equal(cli.welcome.you, 'ada', 'a client without Origin (not a browser) is accepted')
  cli.client.close()
  t.equal(sameOrigin('http://a.example', { headers: {} }), false, 'no Host header: refused')
})

t.test('bad rooms and unknown subprotocols are refused with 400', async t => {
  const { wsBase, base, login } = await start(t)
  const token = await login('ada')
  t.equal((await refusal(`${wsBase}/chat/UPPER`, { origin: base }, offer(token))).status, 400)
  t.equal((await refusal(`${wsBase}/chat/${'r'.repeat(33)}`, { origin: base }, offer(token))).status, 400)
  t.equal((await refusal(`${wsBase}/chat/lobby`, { origin: base }, ['chat.v2', `token.${token}`])).status, 400)
})

t.test('an invalid message (the route\'s schema) gets an error event back to its sender only', async t => {
  const { join, app } = await start(t)
  const ada = await join('ada')
  const bob = await join('bob')
  const invalid: Array<[string, string | Buffer, RegExp]> = [
    ['not JSON', '{nope', /not JSON/],
    ['an array', '[]', /object/],
    ['null', 'null', /object/],
    ['a wrong type', JSON.stringify({ type: 'shout', text: 'hi' }), /type/],
    ['no text', JSON.stringify({ type: 'message' }), /required property 'text'/],
    ['a text that is not a string', JSON.stringify({ type: 'message', text: { html: '<b>' } }), /text must be string/],
    ['empty text', JSON.stringify({ type: 'message', text: '' }), /fewer than 1 characters/],
    ['blank text', JSON.stringify({ type: 'message', text: '   ' }), /must match pattern/],
    ['2001 characters', JSON.stringify({ type: 'message', text: 'é'.repeat(2001) }), /2000/],
    ['binary', Buffer.from('{"type":"message","text":"hi"}'), /binary/]
  ]
  for (const [, data] of invalid) ada.client.send(data)
  for (const [name, , why] of invalid) {
    const err = await ada.next('error')
    t.equal(err.error, 'invalid-message', name)
    t.match(err.message, why, name)
  }
  ada.say('😀'.repeat(2000)) // 2000 characters (4000 UTF-16 units) is fine
  const ok = await bob.next('message')
  t.equal(ok.from, 'ada', 'the next valid message is the first thing bob sees')
  // a property the schema does not name is dropped (Fastify's ajv defaults), so it cannot forge the sender
  ada.client.send(JSON.stringify({ type: 'message', text: 'hi', from: 'root', id: -1 }))
  const forged = await bob.next('message')
  t.same([forged.from, forged.text, forged.id > 0], ['ada', 'hi', true], 'the extra properties never reach the room')
  t.notOk(bob.events.some(e => e.type === 'error'), 'bob saw no error')
  t.equal(ada.client.readyState, WS.OPEN, 'the sender stays connected')
  t.equal(app.websocketClients.size, 2)
})

t.test('a message over 16 KiB closes that socket with 1009 and nobody else', async t => {
  const { join } = await start(t)
  const ada = await join('ada', 'lobby', { perMessageDeflate: false })
  const bob = await join('bob')
  ada.client.send(JSON.stringify({ type: 'message', text: 'x'.repeat(17 * 1024) }))
  const [code] = await once(ada.client, 'close') as [number]
  t.equal(code, 1009)
  t.match(await bob.next('leave'), { nickname: 'ada' })
  t.equal(bob.client.readyState, WS.OPEN)
})

t.test('a member that stops reading is closed with 1008; the room carries on', async t => {
  const limit = 64 * 1024
  const { join, app, sockets } = await start(t, { maxBackpressure: limit })
  const fast = await join('fast')
  const slow = await join('slow', 'lobby', { perMessageDeflate: false })
  const slowServer = sockets.get('slow')![0]
  const slowTcp = (slow.client as unknown as { _socket: Socket })._socket
  slowTcp.pause()
  let sent = 0
  // batches of 20 messages of ~2 KB, each batch waiting for its echo to the fast member
  while (slowServer.readyState === WS.OPEN) {
    if (sent > 20_000) throw new Error(`the slow socket never went over ${limit} bytes`)
    for (let i = 0; i < 20; i++) fast.say(`${sent++} ${'z'.repeat(1990)}`)
    for (let i = 0; i < 20; i++) await fast.next('message')
  }
  // the slow member reads what was queued, then the 1008 close frame (within closeTimeout)
  const closed = once(slow.client, 'close')
  slowTcp.resume()
  const [code] = await closed as [number]
  t.equal(code, 1008, 'the slow client reads 1008 Policy Violation after what was queued')
  t.match(await fast.next('leave'), { nickname: 'slow' }, 'the others see the slow member leave')
  fast.say('still here')
  let last: ChatEvent
  do last = await fast.next('message'); while (last.text !== 'still here')
  t.pass('the fast member still chats')
  t.same([...app.websocketSubscribers('room:lobby')], [sockets.get('fast')![0]])
})

t.test('the heartbeat terminates a member that stops answering pings', async t => {
  const { join } = await start(t, { heartbeat: { interval: 100, timeout: 100 } })
  const ada = await join('ada')
  const mute = await join('mute', 'lobby', { autoPong: false })
  const [code] = await once(mute.client, 'close') as [number]
  t.equal(code, 1006, 'terminated without a closing handshake')
  t.match(await ada.next('leave'), { nickname: 'mute' })
  t.equal(ada.client.readyState, WS.OPEN, 'a member that answers stays')
})

t.test('app.close() closes every member with 1001 Going Away', async t => {
  const { join, app } = await start(t)
  const ada = await join('ada')
  const bob = await join('bob', 'other')
  const closes = [once(ada.client, 'close'), once(bob.client, 'close')]
  await app.close()
  const codes = (await Promise.all(closes)).map(([code]) => code)
  t.same(codes, [1001, 1001])
})

t.test('rooms beyond maxRooms forget the oldest empty one', async t => {
  const { join } = await start(t, { maxRooms: 2 })
  const ada = await join('ada', 'one')
  ada.say('remember me')
  await ada.next('message')
  ada.client.close()
  await once(ada.client, 'close')
  const bob = await join('bob', 'two')
  const carol = await join('carol', 'three') // three rooms: 'one' is empty and the oldest
  t.same(bob.welcome.history, [])
  t.same(carol.welcome.history, [])
  const ada2 = await join('ada', 'one')
  t.same(ada2.welcome.history, [], "room 'one' was forgotten")
  const dave = await join('dave', 'two')
  t.same(dave.welcome.members, ['bob', 'dave'], 'rooms with members are kept')
})

t.test('the page and its assets are served with a same-origin content security policy', async t => {
  const { base, login } = await start(t)
  for (const [path, type] of [['/', 'text/html'], ['/app.js', 'javascript'], ['/style.css', 'text/css']]) {
    const res = await fetch(`${base}${path}`)
    t.equal(res.status, 200, path)
    t.match(res.headers.get('content-type'), type)
    t.match(res.headers.get('content-security-policy'), "connect-src 'self'")
  }
  const token = await login('ada')
  t.equal((await fetch(`${base}/chat/lobby`, { headers: { 'sec-websocket-protocol': offer(token).join(', ') } })).status, 426, 'a plain GET on the chat route asks for an upgrade')
  t.equal((await fetch(`${base}/chat/lobby`)).status, 401, 'after the token check')
})
