'use strict'
// The JS generator's modes. Each runs in one thread over its share of the connections, waits for
// `ctl.start()` once connected, and returns a partial result that jsload.js merges across threads.
const { performance } = require('node:perf_hooks')
const { FrameReader, openConnection, HandshakeError } = require('./connection')
const { clientFrame, repeated, payloadOf, jsonPayloadOf, deflatePayload, closeFrame } = require('./frames')
const { Histogram } = require('./histogram')

const CLOSE_GRACE_MS = 2000

function newErrors () {
  return { connect: 0, handshake: 0, proto: 0, bad_echo: 0, unexpected: 0, server_close: 0, eof: 0, io: 0 }
}

function countFailure (errors, err) {
  if (err instanceof HandshakeError) errors.handshake++
  else errors.connect++
}

function sourceAddress (opts, i) {
  return opts.sourceIps > 1 ? `127.0.0.${1 + (i % opts.sourceIps)}` : undefined
}

/** Open `n` connections, at most `opts.concurrency` handshakes at once. */
async function connectAll (opts, n, errors, handshakeHist) {
  const conns = []
  let next = 0
  const started = performance.now()
  async function lane () {
    while (next < n) {
      const i = next++
      const t = performance.now()
      try {
        const c = await openConnection({ host: opts.host, port: opts.port, path: opts.path, localAddress: sourceAddress(opts, i), deflate: opts.deflate })
        handshakeHist?.record((performance.now() - t) * 1000)
        conns.push(c)
      } catch (err) { countFailure(errors, err) }
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, n) }, lane))
  return { conns, connectMs: performance.now() - started }
}

/** Send a close frame and wait (bounded) for the server to finish the close handshake and FIN. */
function closePolitely (socket) {
  return new Promise(resolve => {
    if (socket.destroyed) return resolve()
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS)
    socket.once('close', () => { clearTimeout(timer); resolve() })
    socket.on('error', () => {})
    socket.write(closeFrame)
  })
}

/** Attach a reader to a connection; `state.closing` silences errors during the final close. */
function attach (conn, state, errors, onMessage) {
  const { socket } = conn
  let sawClose = false
  const reader = new FrameReader({
    onMessage,
    onClose: () => { sawClose = true; if (!state.closing) errors.server_close++ },
    onProtocolError: () => { errors.proto++; socket.destroy() },
    sendPong: frame => socket.write(frame)
  })
  socket.on('error', () => { if (!state.closing) errors.io++ })
  socket.on('end', () => { if (!state.closing && !sawClose) errors.eof++ })
  return reader
}

/** Run `warmup` then `duration` seconds; `onMeasure(bool)` flips counting on and off. */
function timeline (opts, onMeasure) {
  return new Promise(resolve => {
    let began = 0
    setTimeout(() => {
      onMeasure(true)
      began = performance.now()
      setTimeout(() => { onMeasure(false); resolve(performance.now() - began) }, opts.duration * 1000)
    }, opts.warmup * 1000)
  })
}

/** Echo: each connection keeps `pipeline` messages in flight. */
async function runEcho (opts, ctl) {
  const errors = newErrors()
  const opcode = opts.binary ? 2 : 1
  const payload = opts.json ? jsonPayloadOf(opts.size) : payloadOf(opts.size, opts.binary)
  const frame = clientFrame(opcode, opts.deflate ? deflatePayload(payload) : payload, opts.deflate)
  const P = opts.pipeline
  const batch = repeated(frame, P)
  const { conns, connectMs } = await connectAll(opts, opts.connections, errors)
  await ctl.start()
  const hist = new Histogram()
  const perConn = new Float64Array(conns.length)
  const state = { closing: false }
  let measuring = false
  let msgs = 0
  let stopped = false
  conns.forEach((conn, idx) => {
    const sentAt = new Float64Array(P)
    let inFlight = 0
    let recvIdx = 0
    let sendIdx = 0
    let now = 0
    let got = 0
    const reader = attach(conn, state, errors, (op, length, compressed) => {
      if (inFlight === 0) { errors.unexpected++; return }
      inFlight--
      if (op !== opcode || (!compressed && length !== opts.size)) errors.bad_echo++
      got++
      if (measuring) {
        msgs++
        perConn[idx]++
        hist.record((now - sentAt[recvIdx]) * 1000)
      }
      recvIdx = (recvIdx + 1) % P
    })
    const send = (k) => {
      const t = performance.now()
      for (let j = 0; j < k; j++) { sentAt[sendIdx] = t; sendIdx = (sendIdx + 1) % P }
      inFlight += k
      conn.socket.write(k === P ? batch : batch.subarray(0, k * frame.length))
    }
    conn.socket.on('data', chunk => {
      now = performance.now()
      got = 0
      reader.feed(chunk)
      if (got > 0 && !stopped) send(got)
    })
    if (conn.rest.length > 0) conn.socket.emit('data', conn.rest)
    send(P)
  })
  const windowMs = await timeline(opts, on => { measuring = on })
  stopped = true
  state.closing = true
  await Promise.all(conns.map(c => closePolitely(c.socket)))
  return { msgs, windowMs, hist: hist.counts, perConn: Array.from(perConn), errors, established: conns.length, connectMs }
}

/** Latency: a fixed total rate of single messages spread round-robin over the connections. */
async function runLatency (opts, ctl) {
  const errors = newErrors()
  const opcode = opts.binary ? 2 : 1
  const frame = clientFrame(opcode, payloadOf(opts.size, opts.binary))
  const { conns, connectMs } = await connectAll(opts, opts.connections, errors)
  await ctl.start()
  const hist = new Histogram()
  const state = { closing: false }
  let measuring = false
  let msgs = 0
  const queues = conns.map((conn) => {
    const queue = []
    let now = 0
    const reader = attach(conn, state, errors, (op, length) => {
      const t = queue.shift()
      if (t === undefined) { errors.unexpected++; return }
      if (op !== opcode || length !== opts.size) errors.bad_echo++
      if (measuring) { msgs++; hist.record((now - t) * 1000) }
    })
    conn.socket.on('data', chunk => { now = performance.now(); reader.feed(chunk) })
    return queue
  })
  let sent = 0
  let rr = 0
  let stopped = false
  const began = performance.now()
  const tick = () => {
    if (stopped || conns.length === 0) return
    const due = Math.floor((performance.now() - began) / 1000 * opts.rate) - sent
    for (let j = 0; j < due; j++) {
      const i = rr++ % conns.length
      queues[i].push(performance.now())
      conns[i].socket.write(frame)
      sent++
    }
    setTimeout(tick, 1)
  }
  tick()
  const windowMs = await timeline(opts, on => { measuring = on })
  stopped = true
  state.closing = true
  await Promise.all(conns.map(c => closePolitely(c.socket)))
  return { msgs, windowMs, hist: hist.counts, errors, established: conns.length, connectMs, sent }
}

/** Handshakes: `concurrency` lanes each connect, verify the 101, close politely, and repeat. */
async function runHandshake (opts, ctl) {
  const errors = newErrors()
  await ctl.start()
  const hist = new Histogram()
  let measuring = false
  let stopped = false
  let done = 0
  let seq = 0
  const closing = []
  async function lane () {
    // eslint-disable-next-line no-unmodified-loop-condition -- a listener sets it while the loop awaits
    while (!stopped) {
      const t = performance.now()
      try {
        const c = await openConnection({ host: opts.host, port: opts.port, path: opts.path, localAddress: sourceAddress(opts, seq++) })
        if (measuring) { done++; hist.record((performance.now() - t) * 1000) }
        c.socket.on('data', () => {})
        closing.push(closePolitely(c.socket))
        if (closing.length > 4096) await Promise.all(closing.splice(0))
      } catch (err) { countFailure(errors, err) }
    }
  }
  const lanes = Array.from({ length: opts.concurrency }, lane)
  const windowMs = await timeline(opts, on => { measuring = on })
  stopped = true
  await Promise.all(lanes)
  await Promise.all(closing)
  return { handshakes: done, windowMs, hist: hist.counts, errors }
}

/** Idle: open connections, hold them `duration` seconds (answering pings), close them. */
async function runIdle (opts, ctl) {
  const errors = newErrors()
  const hist = new Histogram()
  const { conns, connectMs } = await connectAll(opts, opts.connections, errors, hist)
  const state = { closing: false }
  for (const conn of conns) {
    const reader = attach(conn, state, errors, () => {})
    conn.socket.on('data', chunk => reader.feed(chunk))
  }
  await ctl.connected()
  await ctl.start()
  await new Promise(resolve => setTimeout(resolve, opts.duration * 1000))
  await ctl.beforeClose()
  state.closing = true
  await Promise.all(conns.map(c => closePolitely(c.socket)))
  return { established: conns.length, connectMs, hist: hist.counts, errors }
}

module.exports = { echo: runEcho, latency: runLatency, handshake: runHandshake, idle: runIdle }
