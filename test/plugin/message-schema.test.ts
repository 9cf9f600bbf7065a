// Incoming messages validated by the route's schema (`websocket: { schema: { message } }`): the
// peer is `ws` in another process, so every message crosses a real socket. Text is parsed as
// JSON and validated with the route's validator compiler; what is not JSON closes 1007, what
// fails the schema 1008 with the first error as the reason (or goes to `invalidMessage`);
// binary messages pass through untouched.
import t from 'tap'
import path from 'node:path'
import type { Test } from 'tap'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'
import { forkPeer } from '../helpers/peer-process'
import { startApp } from '../helpers/app'
import { closeReason } from '../../lib/plugin/message-schema'
import type { WebSocket, WebSocketError } from '../../lib/index'

const CLIENT = path.join(__dirname, 'fixtures', 'script-client.js')

interface Outcome { received: Array<{ text?: string, binary?: string, error?: string }>, code: number, reason: string }

/** Run the client process against `url`: it sends `plan` and reports what it got and how it closed. */
async function runClient (t: Test, url: string, plan: Array<{ text: string } | { binary: string }>, expect?: number): Promise<Outcome> {
  const peer = forkPeer(CLIENT, { url, send: JSON.stringify(plan), ...(expect === undefined ? {} : { expect: String(expect) }) })
  t.teardown(() => peer.stop())
  return await peer.next<Outcome>(10_000)
}

const text = (v: unknown): { text: string } => ({ text: JSON.stringify(v) })

const Chat = {
  oneOf: [
    { type: 'object', required: ['type', 'room'], additionalProperties: false, properties: { type: { const: 'join' }, room: { type: 'string', maxLength: 20 } } },
    { type: 'object', required: ['type', 'text'], additionalProperties: false, properties: { type: { const: 'say' }, text: { type: 'string' } } }
  ]
}

t.test('a handler object gets each valid text message as its parsed value; binary passes through untouched to binary()', async t => {
  const seen: unknown[] = []
  const server = await startApp(t, app => {
    app.get('/chat', {
      websocket: {
        schema: { message: Chat },
        message (socket, data, isBinary) {
          seen.push(data)
          socket.send(`got ${(data as { type: string }).type} ${String(isBinary)}`)
        },
        binary (socket, data) {
          seen.push(['binary', data.toString('hex')])
          socket.send(data)
        }
      }
    })
  })
  const out = await runClient(t, server.ws('/chat'), [text({ type: 'join', room: 'a' }), { binary: Buffer.from('not json {').toString('base64') }, text({ type: 'say', text: 'hi' })], 3)
  t.same(seen, [{ type: 'join', room: 'a' }, ['binary', Buffer.from('not json {').toString('hex')], { type: 'say', text: 'hi' }])
  t.same(out.received, [{ text: 'got join false' }, { binary: Buffer.from('not json {').toString('base64') }, { text: 'got say false' }])
  t.equal(out.code, 1000)
})

t.test('a binary message on a schema route with no binary handler and no message listener closes 1003', async t => {
  const seen: unknown[] = []
  const server = await startApp(t, app => {
    app.get('/text-only', { websocket: { schema: { message: Chat }, message (_s, data) { seen.push(data) } } })
  })
  const out = await runClient(t, server.ws('/text-only'), [text({ type: 'say', text: 'a' }), { binary: 'AAE=' }, text({ type: 'say', text: 'b' })])
  t.same([out.code, out.reason], [1003, 'binary messages not accepted'])
  t.same(seen, [{ type: 'say', text: 'a' }])
})

t.test('text that is not JSON closes 1007 and nothing after it is delivered', async t => {
  const seen: unknown[] = []
  const errors: string[] = []
  const server = await startApp(t, app => {
    app.get('/chat', { websocket: { schema: { message: Chat }, message (_s, data) { seen.push(data) }, error (_s, err) { errors.push((err as WebSocketError).code) } } })
  })
  const out = await runClient(t, server.ws('/chat'), [text({ type: 'say', text: 'before' }), { text: '{"type":"say",' }, text({ type: 'say', text: 'after' })])
  t.equal(out.code, 1007)
  t.equal(out.reason, 'message is not JSON')
  t.same(seen, [{ type: 'say', text: 'before' }])
  t.same(errors, ['WS_ERR_MESSAGE_NOT_JSON'], 'the route\'s error handler hears of it, as of a protocol error')
})

t.test('a message that fails the schema closes 1008 with the first validation error as the reason', async t => {
  const seen: unknown[] = []
  const server = await startApp(t, app => {
    app.get('/chat', { websocket: { schema: { message: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } } }, message (_s, data) { seen.push(data) } } })
  })
  const out = await runClient(t, server.ws('/chat'), [text({ text: 'ok' }), text({ text: { n: 42 } }), text({ text: 'after' })])
  t.equal(out.code, 1008)
  t.equal(out.reason, 'message/text must be string')
  t.same(seen, [{ text: 'ok' }])
})

t.test('the close reason is cut to 123 bytes on a code-point boundary, valid UTF-8', async t => {
  // ajv quotes the pattern in its message: a long one of 3-byte characters
  const pattern = '^' + '€'.repeat(60) + '$'
  const server = await startApp(t, app => {
    app.get('/p', { websocket: { schema: { message: { type: 'string', pattern } }, message () {} } })
  })
  const out = await runClient(t, server.ws('/p'), [text('nope')])
  t.equal(out.code, 1008)
  const bytes = Buffer.byteLength(out.reason)
  t.ok(bytes <= 123 && bytes >= 121, `reason of ${bytes} bytes`)
  t.ok(out.reason.startsWith('message must match pattern "^€€'), out.reason)
  t.notMatch(out.reason, /\uFFFD/, 'no replacement character: the cut fell between code points')
  for (const s of ['a'.repeat(200), 'é'.repeat(100), '😀'.repeat(40), 'a' + '€'.repeat(50)]) {
    const cut = closeReason(s)
    t.ok(Buffer.byteLength(cut) <= 123 && Buffer.byteLength(cut) > 119 && s.startsWith(cut), `${s.slice(0, 3)}...: ${Buffer.byteLength(cut)} bytes`)
  }
  t.equal(closeReason('short'), 'short')
})

t.test('invalidMessage(socket, error, raw) replaces the close: the socket stays open', async t => {
  const calls: Array<[string, string]> = []
  const server = await startApp(t, app => {
    app.get('/chat', {
      websocket: {
        schema: { message: Chat },
        invalidMessage (socket, error, raw) {
          calls.push([error.code, raw.toString()])
          socket.send(`invalid: ${error.message}`)
        },
        message (socket, data) { socket.send(`ok ${(data as { type: string }).type}`) }
      }
    })
  })
  const out = await runClient(t, server.ws('/chat'), [{ text: 'hello' }, text({ type: 'shout' }), text({ type: 'join', room: 'r' })], 3)
  t.equal(out.code, 1000)
  t.same(calls, [['WS_ERR_MESSAGE_NOT_JSON', 'hello'], ['WS_ERR_MESSAGE_SCHEMA', '{"type":"shout"}']])
  t.equal(out.received.length, 3)
  t.match(out.received[0].text, /^invalid: Text message is not JSON/)
  t.match(out.received[1].text, /^invalid: Message does not match the route's schema: message/)
  t.same(out.received[2], { text: 'ok join' })
})

t.test('in the (socket, request) form, message listeners get the validated value', async t => {
  const server = await startApp(t, app => {
    app.get('/chat', {
      websocket: {
        schema: { message: Chat },
        open (socket: WebSocket, req) {
          socket.on('message', (data: unknown, isBinary) => {
            socket.send(isBinary ? 'binary' : `${req.url} ${JSON.stringify(data)}`)
          })
        }
      }
    })
  })
  const out = await runClient(t, server.ws('/chat'), [text({ type: 'join', room: 'x' }), { binary: 'AAE=' }, text({ type: 'join', room: ['a', 'b'] })])
  t.same(out.received, [{ text: '/chat {"type":"join","room":"x"}' }, { text: 'binary' }])
  t.equal(out.code, 1008)
})

t.test("the app's validator compiler (setValidatorCompiler) and a route's own are used, each compiled once per route", async t => {
  const compiled: string[] = []
  const compiler = (name: string): FastifySchemaCompiler<{ words: string[] }> => ({ schema, httpPart, url }) => {
    compiled.push(`${name} ${url} ${String(httpPart)}`)
    return (data: unknown) => typeof data === 'string' && schema.words.includes(data)
      ? { value: data.toUpperCase() }
      : { error: new Error(`${name} refuses ${JSON.stringify(data)}`) }
  }
  const seen: unknown[] = []
  const server = await startApp(t, app => {
    app.setValidatorCompiler(compiler('app'))
    app.get('/a', { websocket: { schema: { message: { words: ['yes'] } }, message (s, data) { seen.push(data); s.send(String(data)) } } })
    app.get('/b', { validatorCompiler: compiler('route') as unknown as FastifySchemaCompiler<FastifySchema>, websocket: { schema: { message: { words: ['si'] } }, message (s, data) { s.send(String(data)) } } })
  })
  t.same(compiled, ['app /a body', 'route /b body'], 'compiled at onReady, before any connection')
  for (let i = 0; i < 2; i++) {
    t.same((await runClient(t, server.ws('/a'), [text('yes')], 1)).received, [{ text: 'YES' }], 'the value the validator returned')
  }
  const refused = await runClient(t, server.ws('/b'), [text('yes')])
  t.same([refused.code, refused.reason], [1008, 'route refuses "yes"'])
  t.same(compiled, ['app /a body', 'route /b body'], 'not compiled again per connection')
})

t.test("Fastify's default ajv (built lazily) is compiled at the route's first upgrade, once, with Fastify's options", async t => {
  const server = await startApp(t, app => {
    app.get('/n', { websocket: { schema: { message: { type: 'object', properties: { n: { type: 'integer' }, tag: { type: 'string', default: 'none' } } } }, message (s, data) { s.send(JSON.stringify(data)) } } })
  })
  t.equal(server.app.validatorCompiler, undefined, 'no compiler was built at ready')
  // Fastify's ajv coerces types and fills defaults, as for a body
  const out = await runClient(t, server.ws('/n'), [text({ n: '7' })], 1)
  t.same(out.received, [{ text: '{"n":7,"tag":"none"}' }])
  const again = await runClient(t, server.ws('/n'), [text({ n: 'x' })])
  t.same([again.code, again.reason], [1008, 'message/n must be integer'])
})

t.test('a malformed websocket.schema is refused at registration', async t => {
  const cases: Array<[unknown, RegExp]> = [
    ['nope', /must be an object/],
    [{ message: 5 }, /schema.message .* must be a schema object/],
    [{ body: {} }, /unknown key "body"/]
  ]
  for (const [schema, re] of cases) {
    await t.rejects(startApp(t, app => { app.get('/x', { websocket: { schema: schema as never } }) }), re)
  }
  await t.rejects(startApp(t, app => { app.get('/y', { websocket: { validateSend: true } }) }), /need websocket.schema/)
  await t.rejects(startApp(t, app => { app.get('/z', { websocket: { binary () {} } as never }) }), /need websocket.schema/)
})

t.test('TypeBox schemas with TypeBoxValidatorCompiler: values pass, the first TypeBox error is the 1008 reason', async t => {
  const { Type, TypeBoxValidatorCompiler } = await import('@fastify/type-provider-typebox')
  const Incoming = Type.Union([Type.Object({ type: Type.Literal('join'), room: Type.String() }), Type.Object({ type: Type.Literal('say'), text: Type.String() })])
  const server = await startApp(t, app => {
    app.setValidatorCompiler(TypeBoxValidatorCompiler)
    app.get('/tb', { websocket: { schema: { message: Incoming }, message (s, msg) { s.send(JSON.stringify(msg)) } } })
  })
  const ok = await runClient(t, server.ws('/tb'), [text({ type: 'say', text: 'hi' })], 1)
  t.same(ok.received, [{ text: '{"type":"say","text":"hi"}' }])
  const bad = await runClient(t, server.ws('/tb'), [text({ type: 'say', text: 5 })])
  t.equal(bad.code, 1008)
  t.match(bad.reason, /^message\S* must /, `reason: ${bad.reason}`)
})
