import Fastify from 'fastify'
import { expectType, expectError } from 'tsd'
import websocket, { WebSocket } from '..'

const app = Fastify()
app.register(websocket, { maxPayload: 1024 })

app.get('/echo', { websocket: true }, (socket, request) => {
  expectType<WebSocket>(socket)
  expectType<string>(request.url)
  socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }))
})

app.get('/obj', {
  websocket: {
    open (socket) { expectType<WebSocket>(socket) },
    message (socket, data, isBinary) { expectType<Buffer>(data); expectType<boolean>(isBinary) }
  }
})

expectError(app.register(websocket, { maxPayload: 'big' }))
