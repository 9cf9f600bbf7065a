'use strict'
// The servers compared, and starting one fresh on a free port until it says it is ready.
const path = require('node:path')
const { spawnTracked, stop, freePort, probe } = require('./proc')

const SERVERS_DIR = path.join(__dirname, '..', 'servers')
const SKIP_EXIT_CODE = 3
const READY_TIMEOUT_MS = 15000

/**
 * name -> how to start it. `echo` is the echo script, `broadcast` the broadcast script if any.
 * `ws` (with bufferutil) is the baseline every ratio is taken against.
 */
const SERVERS = {
  ws: { echo: 'ws.js', broadcast: 'broadcast-ws.js', env: {}, about: 'ws, perMessageDeflate off, native bufferutil (baseline)' },
  'ws-no-bufferutil': { echo: 'ws.js', broadcast: 'broadcast-ws.js', env: { WS_NO_BUFFER_UTIL: '1' }, about: 'ws with WS_NO_BUFFER_UTIL=1 (JavaScript masking)' },
  'fastify-websocket': { echo: 'fastify-websocket.js', env: {}, about: '@fastify/websocket on Fastify (ws underneath)' },
  ceiling: { echo: 'ceiling.js', env: {}, about: 'node:net, handshake + unmask + re-frame, no validation, one write per data event' },
  ours: { echo: 'ours.js', broadcast: 'broadcast-ours.js', env: {}, about: 'fastify-rfc6455 (dist/bin/echo.js)' },
  'ours-no-counters': { echo: 'ours.js', env: { FASTIFY_RFC6455_COUNTERS: '0' }, about: 'fastify-rfc6455 with the per-message counters and channel checks off (FASTIFY_RFC6455_COUNTERS=0, internal)' },
  'ours-subscribed': { echo: 'ours.js', args: ['--subscribed'], env: {}, about: 'fastify-rfc6455 with a no-op subscriber on message:in and message:out' },
  'ws-deflate': { echo: 'ws.js', env: { WS_DEFLATE: '1' }, about: 'ws with perMessageDeflate: true (ws defaults)' },
  'ours-deflate': { echo: 'ours.js', args: ['--deflate'], env: {}, about: 'fastify-rfc6455 with perMessageDeflate: true' },
  'ours-json-hand': { echo: 'json-ours.js', args: ['--validate', 'hand'], env: {}, about: 'fastify-rfc6455, JSON echo: JSON.parse + hand-written checks + JSON.stringify (baseline of echo-json)' },
  'ours-json-schema': { echo: 'json-ours.js', args: ['--validate', 'schema'], env: {}, about: 'fastify-rfc6455, JSON echo: websocket.schema (Fastify ajv in, fast-json-stringify out)' },
  'ours-cluster-1': { broadcast: 'broadcast-cluster.js', args: ['--workers', '1'], env: {}, about: 'fastify-rfc6455, node:cluster primary + 1 worker, clusterAdapter()' },
  'ours-cluster-2': { broadcast: 'broadcast-cluster.js', args: ['--workers', '2'], env: {}, about: 'fastify-rfc6455, node:cluster primary + 2 workers, clusterAdapter()' }
}

/**
 * Start server `name` in its `kind` ('echo' | 'broadcast') flavour as a fresh process, with
 * `appHeapMb` MB of long-lived application objects preloaded (servers/app-heap.js).
 * Resolves { child, pid, port, url, readyLine } or { skipped } (script missing or exit code 3);
 * rejects if it dies or is not ready in time.
 */
async function startServer (name, kind = 'echo', appHeapMb = 0) {
  const def = SERVERS[name]
  if (def === undefined) throw new Error(`unknown server ${name}`)
  const script = def[kind]
  if (script === undefined) return { skipped: `no ${kind} server for ${name}` }
  const port = await freePort()
  const env = { ...process.env, NODE_ENV: 'production', ...def.env }
  if (def.env.WS_NO_BUFFER_UTIL === undefined) delete env.WS_NO_BUFFER_UTIL
  if (def.env.FASTIFY_RFC6455_COUNTERS === undefined) delete env.FASTIFY_RFC6455_COUNTERS
  env.BENCH_APP_HEAP_MB = String(appHeapMb)
  const preload = ['-r', path.join(SERVERS_DIR, 'app-heap.js')]
  const child = spawnTracked(process.execPath, [...preload, path.join(SERVERS_DIR, script), '--port', String(port), ...(def.args ?? [])], { env, raiseFdLimit: true })
  const started = Date.now()
  while (Date.now() - started < READY_TIMEOUT_MS) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await child.exited
      const skip = /^SKIP: (.*)$/m.exec(child.output)
      if (child.exitCode === SKIP_EXIT_CODE && skip !== null) return { skipped: skip[1] }
      throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before ready:\n${child.output.slice(-2000)}`)
    }
    const line = /^.*ws:\/\/127\.0\.0\.1:(\d+)\/?.*$/m.exec(child.output)
    if (line !== null && Number(line[1]) === port && await probe(port)) {
      return { child, pid: child.pid, port, url: `ws://127.0.0.1:${port}/`, readyLine: line[0].trim() }
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  await stop(child)
  throw new Error(`${name} not ready within ${READY_TIMEOUT_MS} ms:\n${child.output.slice(-2000)}`)
}

/** Stop a server; if it died on its own during the run, report that as an error string. */
async function stopServer (server) {
  const died = server.child.exitCode !== null || server.child.signalCode !== null
  await stop(server.child)
  return died ? `server died during the run (${server.child.exitCode ?? server.child.signalCode}): ${server.child.output.slice(-1000)}` : null
}

module.exports = { SERVERS, startServer, stopServer }
