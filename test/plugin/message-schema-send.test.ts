// Outgoing values on a route with message schemas: `socket.send(value)` of anything but a string
// or binary data is serialized with the route's serializer compiler against `schema.send`
// (fast-json-stringify by default), validated first with `validateSend: true`. The peer is `ws`
// in another process and reports the frames it received.
import t from 'tap'
import path from 'node:path'
import type { Test } from 'tap'
import { forkPeer } from '../helpers/peer-process'
import { startApp } from '../helpers/app'
import type { WebSocket, WebSocketError } from '../../lib/index'

const CLIENT = path.join(__dirname, 'fixtures', 'script-client.js')

interface Outcome { received: Array<{ text?: string, binary?: string }>, code: number, reason: string }

async function receive (t: Test, url: string, expect: number): Promise<Outcome> {
  const peer = forkPeer(CLIENT, { url, send: '[]', expect: String(expect) })
  t.teardown(() => peer.stop())
  return await peer.next<Outcome>(10_000)
}

const Reply = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { type: 'string' }, text: { type: 'string' }, n: { type: 'integer' } }
}

/** send() as a schema route's socket takes it: any value (the typed routes narrow it) */
function sendValue (socket: WebSocket, value: unknown): boolean {
  return (socket.send as (v: unknown) => boolean)(value)
}

t.test('send(value) serializes with fast-json-stringify against schema.send; strings and buffers go as they are', async t => {
  const server = await startApp(t, app => {
    app.get('/s', {
      websocket: {
        schema: { send: Reply },
        open (socket) {
          // fast-json-stringify writes what the schema names and drops the rest (JSON.stringify would keep `secret`)
          sendValue(socket, { type: 'say', text: 'hi', n: 3, secret: 'x' })
          socket.send('{"raw":true}')
          socket.send(Buffer.from([1, 2, 3]))
          sendValue(socket, { type: 'say', text: 'two' })
        }
      }
    })
  })
  const out = await receive(t, server.ws('/s'), 4)
  t.same(out.received, [
    { text: '{"type":"say","text":"hi","n":3}' },
    { text: '{"raw":true}' },
    { binary: Buffer.from([1, 2, 3]).toString('base64') },
    { text: '{"type":"say","text":"two"}' }
  ])
})

t.test('a route with only a message schema sends values as JSON.stringify writes them', async t => {
  const server = await startApp(t, app => {
    app.get('/m', { websocket: { schema: { message: { type: 'object' } }, open (socket) { sendValue(socket, { a: [1, 'b'], c: null }); sendValue(socket, 7) } } })
  })
  t.same((await receive(t, server.ws('/m'), 2)).received, [{ text: '{"a":[1,"b"],"c":null}' }, { text: '7' }])
})

t.test('validateSend: true throws WS_ERR_SEND_SCHEMA for a value that fails schema.send, and sends nothing', async t => {
  const thrown: string[] = []
  const server = await startApp(t, app => {
    app.get('/v', {
      websocket: {
        schema: { send: Reply },
        validateSend: true,
        open (socket) {
          for (const value of [{ type: 'say', text: { x: 5 } }, { type: 'say' }, { type: 'say', text: 'ok', n: 1.5 }]) {
            try { sendValue(socket, value) } catch (err) { thrown.push(`${(err as WebSocketError).code}: ${(err as Error).message}`) }
          }
          sendValue(socket, { type: 'say', text: 'valid' })
        }
      }
    })
  })
  const out = await receive(t, server.ws('/v'), 1)
  t.same(out.received, [{ text: '{"type":"say","text":"valid"}' }], 'only the valid value was sent')
  t.equal(thrown.length, 3)
  t.match(thrown[0], /^WS_ERR_SEND_SCHEMA: Value could not be sent against the route's send schema: value\/text must be string/)
  t.match(thrown[1], /value must have required property 'text'/)
  t.match(thrown[2], /value\/n must be integer/)
})

t.test('without validateSend, what the serializer refuses throws WS_ERR_SEND_SCHEMA too', async t => {
  let thrown: WebSocketError | undefined
  const server = await startApp(t, app => {
    app.get('/r', {
      websocket: {
        schema: { send: Reply },
        open (socket) {
          try { sendValue(socket, { type: 'say' }) } catch (err) { thrown = err as WebSocketError }
          socket.send('after')
        }
      }
    })
  })
  t.same((await receive(t, server.ws('/r'), 1)).received, [{ text: 'after' }])
  t.equal(thrown?.code, 'WS_ERR_SEND_SCHEMA')
  t.match(thrown?.message, /text.*required/)
})

t.test("the app's serializer compiler (setSerializerCompiler) is used", async t => {
  const server = await startApp(t, app => {
    app.setSerializerCompiler(({ schema }) => (value: unknown) => `${(schema as { tag: string }).tag}:${JSON.stringify(value)}`)
    app.get('/c', { websocket: { schema: { send: { tag: 'custom' } }, open (socket) { sendValue(socket, { a: 1 }) } } })
  })
  t.same((await receive(t, server.ws('/c'), 1)).received, [{ text: 'custom:{"a":1}' }])
})

t.test('a route without schemas still refuses to send a plain object (TypeError), as ws does', async t => {
  let thrown: unknown
  const server = await startApp(t, app => {
    app.get('/plain', { websocket: { open (socket) { try { sendValue(socket, { a: 1 }) } catch (err) { thrown = err } socket.send('done') } } })
  })
  t.same((await receive(t, server.ws('/plain'), 1)).received, [{ text: 'done' }])
  t.type(thrown, TypeError)
})
