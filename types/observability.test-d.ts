import Fastify from 'fastify'
import { subscribe } from 'node:diagnostics_channel'
import { expectType } from 'tsd'
import '..'
import {
  diagnosticsChannels, WebSocket, type WebSocketStats, type WebSocketRouteStats, type WebSocketSocketStats,
  type OpenMessage, type CloseMessage, type HandshakeRefusedMessage, type ProtocolErrorMessage, prometheusText, PROMETHEUS_CONTENT_TYPE
} from '..'
import { connect } from '../dist/client/index'

const app = Fastify()

// app.websocketStats(): the counters, typed
const stats = app.websocketStats()
expectType<WebSocketStats>(stats)
expectType<number>(stats.open)
expectType<number>(stats.handshakes.accepted)
expectType<Record<string, number>>(stats.handshakes.refused)
expectType<WebSocketRouteStats>(stats.routes['/chat'])
expectType<Record<string, number>>(stats.closeCodesSent)
expectType<Record<string, number>>(stats.topics)
expectType<boolean>(stats.adapter.connected)

// socket.stats on server and client sockets
declare const socket: WebSocket
expectType<WebSocketSocketStats>(socket.stats)
expectType<number>(socket.stats.bytesIn)
connect('ws://127.0.0.1/').then(ws => expectType<WebSocketSocketStats>(ws.stats))

// channel names are literal types; messages have their documented shapes
expectType<'fastify-rfc6455:open'>(diagnosticsChannels.open)
subscribe(diagnosticsChannels.open, message => {
  const m = message as OpenMessage
  expectType<string>(m.route)
  expectType<WebSocket>(m.socket)
  expectType<number>(m.handshakeStart)
})
subscribe(diagnosticsChannels.close, message => {
  const m = message as CloseMessage
  expectType<'local' | 'peer'>(m.closedBy)
  expectType<string | null>(m.route)
})
subscribe(diagnosticsChannels.handshakeRefused, message => {
  expectType<string | null>((message as HandshakeRefusedMessage).code)
})
subscribe(diagnosticsChannels.protocolError, message => {
  expectType<number | undefined>((message as ProtocolErrorMessage).closeCode)
})

// the Prometheus helper
expectType<string>(prometheusText(stats))
expectType<string>(prometheusText(stats, { prefix: 'app_ws_' }))
expectType<'text/plain; version=0.0.4; charset=utf-8'>(PROMETHEUS_CONTENT_TYPE)
