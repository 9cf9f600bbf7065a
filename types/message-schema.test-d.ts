// Message schemas typed through the route's type provider: the message handler's value, the
// 'message' listener's arguments, and what send() accepts.
import Fastify from 'fastify'
import { expectType, expectError, expectAssignable, expectNotAssignable } from 'tsd'
import { type WebSocket, type SchemaWebSocket, type WebSocketError, type WebSocketRouteOptions } from '..'
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts'

const Incoming = Type.Union([
  Type.Object({ type: Type.Literal('join'), room: Type.String() }),
  Type.Object({ type: Type.Literal('say'), text: Type.String() })
])
const Outgoing = Type.Object({ from: Type.String(), text: Type.String() })

// TypeBox: a discriminated union narrows on its discriminant; send() takes the send schema's type
const tb = Fastify().withTypeProvider<TypeBoxTypeProvider>()
tb.get('/chat', {
  websocket: {
    schema: { message: Incoming, send: Outgoing },
    message (socket, msg, isBinary) {
      expectType<false>(isBinary)
      expectType<SchemaWebSocket<{ type: 'join', room: string } | { type: 'say', text: string }, { from: string, text: string }>>(socket)
      if (msg.type === 'join') {
        expectType<string>(msg.room)
        expectError(msg.text)
      } else {
        expectType<'say'>(msg.type)
        expectType<string>(msg.text)
      }
      expectType<boolean>(socket.send({ from: 'server', text: 'hi' }))
      socket.send('a string goes as it is')
      socket.send(Buffer.from('binary too'), { binary: true })
      expectError(socket.send({ from: 'server' }))
      expectError(socket.send({ from: 'server', text: 42 }))
      expectError(socket.send(42))
    },
    binary (socket, data) { expectType<Buffer>(data); socket.send(data) },
    invalidMessage (socket, error, raw) {
      expectType<WebSocketError>(error)
      expectType<Buffer>(raw)
      socket.close(1008, error.message.slice(0, 100))
    },
    open (socket, request) {
      expectType<string>(request.url)
      // listeners get text as the value and binary as a Buffer: isBinary narrows
      socket.on('message', (data, isBinary) => {
        if (isBinary) expectType<Buffer>(data)
        else expectType<'join' | 'say'>(data.type)
      })
      socket.on('close', (code, reason) => { expectType<number>(code); expectType<Buffer>(reason) })
    },
    close (socket, code) { expectType<number>(code); expectError(socket.send({ nope: true })) }
  }
})

// the route() form, with TypeBox too
tb.route({
  method: 'GET',
  url: '/route',
  websocket: {
    schema: { message: Type.Object({ n: Type.Number() }) },
    message (socket, msg) {
      expectType<number>(msg.n)
      socket.send({ any: 'value' }) // no send schema: any value, as JSON
    }
  }
})

// json-schema-to-ts: inline schemas, inferred as written
const j = Fastify().withTypeProvider<JsonSchemaToTsProvider>()
j.get('/jstt', {
  websocket: {
    schema: {
      message: {
        oneOf: [
          { type: 'object', properties: { kind: { const: 'ping' } }, required: ['kind'], additionalProperties: false },
          { type: 'object', properties: { kind: { const: 'add' }, a: { type: 'number' }, b: { type: 'number' } }, required: ['kind', 'a', 'b'], additionalProperties: false }
        ]
      },
      send: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'], additionalProperties: false }
    },
    message (socket, msg) {
      if (msg.kind === 'add') {
        expectType<number>(msg.a)
        socket.send({ sum: msg.a + msg.b })
      }
      expectError(socket.send({ sum: 'many' }))
      expectError(socket.send({ total: 1 }))
    }
  }
})

// without a type provider the value is unknown and send() takes any value
Fastify().get('/plain-schema', {
  websocket: {
    schema: { message: { type: 'object' } },
    message (socket, msg) { expectType<unknown>(msg); socket.send({ anything: [1] }) }
  }
})

// without a schema nothing changes: Buffers, and send() refuses plain objects
Fastify().get('/no-schema', {
  websocket: {
    message (socket, data, isBinary) {
      expectType<WebSocket>(socket)
      expectType<Buffer>(data)
      expectType<boolean>(isBinary)
      expectError(socket.send({ a: 1 }))
    }
  }
})
expectError(Fastify().get('/bad-binary', { websocket: { schema: { message: {} }, binary: 42 } }))
expectAssignable<WebSocketRouteOptions>({ validateSend: true })
expectNotAssignable<WebSocketRouteOptions>({ validateSend: 'yes' })
