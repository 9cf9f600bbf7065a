'use strict'
// OpenTelemetry spans fed from the diagnostics_channel events: a span per handshake (from the
// upgrade request to the 101, or to the refusal), and a span per connection (open to close) with
// an event for each error and one for the close.
const dc = require('node:diagnostics_channel')
const { trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api')
const { diagnosticsChannels } = require('fastify-rfc6455')

function instrumentWebSockets (tracer = trace.getTracer('fastify-rfc6455')) {
  const connections = new WeakMap() // socket -> its connection span

  const handlers = {
    [diagnosticsChannels.open] ({ socket, request, route, protocol, extensions, handshakeStart }) {
      const attributes = { 'http.route': route, 'url.path': request.url, 'websocket.protocol': protocol, 'websocket.extensions': extensions }
      tracer.startSpan('WebSocket handshake', { kind: SpanKind.SERVER, startTime: handshakeStart, attributes })
        .setAttribute('http.response.status_code', 101)
        .end()
      connections.set(socket, tracer.startSpan(`WebSocket ${route}`, { kind: SpanKind.SERVER, attributes }))
    },
    [diagnosticsChannels.handshakeRefused] ({ request, status, code, route, handshakeStart }) {
      const span = tracer.startSpan('WebSocket handshake', {
        kind: SpanKind.SERVER,
        startTime: handshakeStart,
        attributes: { 'url.path': request.url, 'http.response.status_code': status, 'error.type': code ?? String(status) }
      })
      if (route !== null) span.setAttribute('http.route', route)
      span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? `HTTP ${status}` })
      span.end()
    },
    [diagnosticsChannels.protocolError] ({ socket, code, closeCode, error }) {
      const span = connections.get(socket)
      if (span === undefined) return
      span.addEvent('websocket.error', { 'error.type': code, 'websocket.close_code': closeCode ?? 1006, 'exception.message': error.message })
      span.setStatus({ code: SpanStatusCode.ERROR, message: code })
    },
    [diagnosticsChannels.close] ({ socket, code, reason, codeSent, closedBy, bytesIn, bytesOut }) {
      const span = connections.get(socket)
      if (span === undefined) return
      connections.delete(socket)
      span.addEvent('websocket.close', { 'websocket.close_code': code, 'websocket.close_reason': reason, 'websocket.close_code_sent': codeSent, 'websocket.closed_by': closedBy })
      span.setAttributes({ 'websocket.bytes_in': bytesIn, 'websocket.bytes_out': bytesOut })
      span.end()
    }
  }

  for (const [name, fn] of Object.entries(handlers)) dc.subscribe(name, fn)
  return function uninstrument () {
    for (const [name, fn] of Object.entries(handlers)) dc.unsubscribe(name, fn)
  }
}

module.exports = { instrumentWebSockets }
