// Message schemas against what a hostile peer can send (the peer in another process), and over
// injectWS: JSON nested hundreds of thousands deep (V8's JSON.parse takes it; a recursive schema
// makes ajv run out of stack), and the in-memory path of injectWS.
import t from 'tap'
import path from 'node:path'
import type { Test } from 'tap'
import { forkPeer } from '../helpers/peer-process'
import { startApp } from '../helpers/app'
import type { WebSocketError } from '../../lib/index'

const CLIENT = path.join(__dirname, 'fixtures', 'script-client.js')
/** 300,000 nested arrays: a 600 KB message, well inside the default maxPayload */
const DEPTH = 300_000

interface Outcome { received: Array<{ text?: string }>, code: number, reason: string }

async function runClient (t: Test, url: string, plan: unknown[], expect?: number): Promise<Outcome> {
  const peer = forkPeer(CLIENT, { url, send: JSON.stringify(plan), ...(expect === undefined ? {} : { expect: String(expect) }) })
  t.teardown(() => peer.stop())
  return await peer.next<Outcome>(20_000)
}

t.test(`JSON nested ${DEPTH} deep fails a flat schema with 1008; the server goes on serving`, async t => {
  const server = await startApp(t, app => {
    app.get('/flat', { websocket: { schema: { message: { type: 'object' } }, message (s) { s.send('never') } } })
    app.get('/echo', { websocket: { schema: { message: { type: 'string' } }, message (s, msg) { s.send(String(msg)) } } })
  })
  const out = await runClient(t, server.ws('/flat'), [{ nested: DEPTH }])
  t.same([out.code, out.reason, out.received], [1008, 'message must be object', []])
  t.same((await runClient(t, server.ws('/echo'), [{ text: '"still here"' }], 1)).received, [{ text: 'still here' }])
})

t.test('a recursive schema that runs the validator out of stack goes to the route\'s error handler as a handler error (a server error), not up into the process', async t => {
  const errors: unknown[] = []
  const server = await startApp(t, app => {
    // a shared schema (app.addSchema), as Fastify's ajv resolves recursive references
    app.addSchema({ $id: 'tree', type: 'array', items: { $ref: 'tree#' } })
    app.get('/tree', {
      websocket: {
        schema: { message: { $ref: 'tree#' } },
        message (s) { s.send('valid') },
        // a route's error handler decides (without one: log, close 1011)
        error (s, err) { errors.push(err); s.close(1011) }
      }
    })
  })
  t.same((await runClient(t, server.ws('/tree'), [{ nested: 50 }], 1)).received, [{ text: 'valid' }], 'a shallow tree is valid')
  const out = await runClient(t, server.ws('/tree'), [{ nested: DEPTH }])
  t.equal(out.code, 1011)
  t.equal(errors.length, 1)
  t.type(errors[0], RangeError, 'the route\'s error handler gets what the validator threw')
  t.same((await runClient(t, server.ws('/tree'), [{ nested: 3 }], 1)).received, [{ text: 'valid' }], 'the route still serves')
})

t.test('injectWS reaches a schema route the same way: values in, 1008 for a schema failure', async t => {
  const server = await startApp(t, app => {
    app.get('/n', { websocket: { schema: { message: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } }, message (s, msg) { s.send(JSON.stringify(msg)) } } })
  })
  const ws = await server.app.injectWS('/n')
  const got = new Promise<string>(resolve => ws.once('message', data => resolve(data.toString())))
  ws.send('{"n":"12"}')
  t.equal(await got, '{"n":12}', 'validated (and coerced) by Fastify\'s ajv')
  const closed = new Promise<[number, string]>(resolve => ws.once('close', (code, reason) => resolve([code, reason.toString()])))
  ws.send('{"n":"x"}')
  t.same(await closed, [1008, 'message/n must be integer'])
})

t.test('a validator error never reaches the peer as more than 123 bytes, whatever the schema says', async t => {
  let code: WebSocketError['code'] | undefined
  const server = await startApp(t, app => {
    const long = 'ж'.repeat(300)
    app.get('/l', { websocket: { schema: { message: { type: 'object', required: [long] } }, message () {}, error (_s, err) { code = (err as WebSocketError).code } } })
  })
  const out = await runClient(t, server.ws('/l'), [{ text: '{}' }])
  t.equal(out.code, 1008)
  t.ok(Buffer.byteLength(out.reason) <= 123, `${Buffer.byteLength(out.reason)} bytes`)
  t.match(out.reason, /^message must have required property 'ж+$/)
  t.equal(code, 'WS_ERR_MESSAGE_SCHEMA')
})
