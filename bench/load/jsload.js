#!/usr/bin/env node
'use strict'
// jsload: the project's lean JavaScript WebSocket load generator (raw TCP, pre-built pre-masked
// frames, streaming frame counting), a cross-check for wsload. Prints ONE JSON line on stdout.
//
//   node bench/load/jsload.js [-m echo] -c 100 -P 16 -s 32 [-b] -d 5 -w 2 [-t 2] [-S PID] ws://127.0.0.1:PORT/
//   node bench/load/jsload.js -m latency -c 100 -r 2000 -s 32 -d 5 -w 1 URL    fixed total rate, p50/p99
//   node bench/load/jsload.js -m handshake -k 64 -d 3 URL                      handshakes/s
//   node bench/load/jsload.js -m idle -c 10000 -a 4 -d 5 -S PID URL            RSS per idle connection
//   --deflate (echo): offer permessage-deflate; client_no_context_takeover and send one
//   pre-compressed frame per message (echoes are counted, not inflated).
//   --json (echo): the text payload is a JSON chat message of exactly -s bytes (frames.js jsonPayloadOf).
// Exit status: 0 when no error was counted, 1 otherwise, 2 for usage errors.
const fs = require('node:fs')
const { parseArgs } = require('node:util')
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads')
const modes = require('./modes')
const { Histogram } = require('./histogram')

const CLK_TCK = 100 // Linux USER_HZ, the unit of /proc/PID/stat times

function parseSize (s) {
  const m = /^(\d+)([kKmM]?)$/.exec(s)
  if (m === null) throw new Error(`bad size: ${s}`)
  return Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]) ? 1024 : 1024 * 1024)
}

function parseCli (argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mode: { type: 'string', short: 'm', default: 'echo' },
      connections: { type: 'string', short: 'c', default: '1' },
      pipeline: { type: 'string', short: 'P', default: '1' },
      size: { type: 'string', short: 's', default: '32' },
      binary: { type: 'boolean', short: 'b', default: false },
      duration: { type: 'string', short: 'd', default: '5' },
      warmup: { type: 'string', short: 'w', default: '0' },
      threads: { type: 'string', short: 't', default: '1' },
      concurrency: { type: 'string', short: 'k', default: '64' },
      rate: { type: 'string', short: 'r', default: '2000' },
      'source-ips': { type: 'string', short: 'a', default: '1' },
      'server-pid': { type: 'string', short: 'S' },
      deflate: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false }
    }
  })
  if (positionals.length !== 1) throw new Error('expected one ws://127.0.0.1:PORT/ URL')
  const url = new URL(positionals[0])
  if (url.protocol !== 'ws:') throw new Error('only ws:// URLs')
  const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error('loopback (127.0.0.0/8) targets only')
  if (!(values.mode in modes)) throw new Error(`unknown mode ${values.mode}`)
  return {
    mode: values.mode,
    host,
    port: Number(url.port || 80),
    path: url.pathname + url.search,
    connections: Number(values.connections),
    pipeline: Math.max(1, Number(values.pipeline)),
    size: parseSize(values.size),
    binary: values.binary,
    duration: Number(values.duration),
    warmup: Number(values.warmup),
    threads: Math.max(1, Number(values.threads)),
    concurrency: Math.max(1, Number(values.concurrency)),
    rate: Number(values.rate),
    sourceIps: Math.max(1, Number(values['source-ips'])),
    serverPid: values['server-pid'] === undefined ? null : Number(values['server-pid']),
    deflate: values.deflate,
    json: values.json
  }
}

/** Server CPU seconds (user, system) and VmRSS bytes from /proc, or nulls. */
function sampleServer (pid) {
  if (pid === null) return null
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))
    return { user: Number(fields[11]) / CLK_TCK, sys: Number(fields[12]) / CLK_TCK, rss: rss === null ? null : Number(rss[1]) * 1024, t: Date.now() }
  } catch { return null }
}

/** Share of `total` for thread `i` of `n` (the first threads take the remainder). */
function share (total, i, n) {
  return Math.floor(total / n) + (i < total % n ? 1 : 0)
}

/** Run the mode over `threads` workers (or in this thread), with barriers the main thread hooks. */
async function runAll (opts, hooks) {
  const n = opts.threads
  const partOpts = i => ({
    ...opts,
    connections: share(opts.connections, i, n),
    concurrency: Math.max(1, share(opts.concurrency, i, n)),
    rate: opts.rate / n
  })
  const barriers = ['connected', 'start', 'beforeClose']
  if (n === 1) {
    const ctl = Object.fromEntries(barriers.map(b => [b, async () => { await hooks[b]?.() }]))
    return [await modes[opts.mode](partOpts(0), ctl)]
  }
  const workers = Array.from({ length: n }, (_, i) => new Worker(__filename, { workerData: partOpts(i) }))
  const waiting = Object.fromEntries(barriers.map(b => [b, 0]))
  return Promise.all(workers.map(w => new Promise((resolve, reject) => {
    w.on('error', reject)
    w.on('message', async msg => {
      if (msg.type === 'result') { resolve(msg.result); return }
      if (++waiting[msg.type] < n) return
      await hooks[msg.type]?.()
      for (const other of workers) other.postMessage({ type: `${msg.type}-go` })
    })
  })))
}

function workerMain () {
  const waiters = {}
  parentPort.on('message', msg => { waiters[msg.type]?.(); delete waiters[msg.type] })
  const barrier = name => () => new Promise(resolve => {
    waiters[`${name}-go`] = resolve
    parentPort.postMessage({ type: name })
  })
  const ctl = { connected: barrier('connected'), start: barrier('start'), beforeClose: barrier('beforeClose') }
  modes[workerData.mode](workerData, ctl).then(result => {
    parentPort.postMessage({ type: 'result', result })
    process.exit(0)
  })
}

function median (values) {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const round1 = v => v === null || v === undefined || Number.isNaN(v) ? null : Math.round(v * 10) / 10

function merge (opts, parts, samples, cpu) {
  const hist = new Histogram()
  const errors = {}
  for (const p of parts) {
    hist.merge(new Histogram(Float64Array.from(p.hist)))
    for (const [k, v] of Object.entries(p.errors)) errors[k] = (errors[k] ?? 0) + v
  }
  const sum = key => parts.reduce((a, p) => a + (p[key] ?? 0), 0)
  const rateOf = key => parts.reduce((a, p) => a + (p.windowMs > 0 ? p[key] / (p.windowMs / 1000) : 0), 0)
  const out = {
    tool: 'jsload',
    mode: opts.mode,
    connections: opts.connections,
    pipeline: opts.pipeline,
    size: opts.size,
    binary: opts.binary,
    deflate: opts.deflate,
    threads: opts.threads,
    duration_s: opts.duration,
    warmup_s: opts.warmup
  }
  if (opts.mode === 'echo' || opts.mode === 'latency') {
    const perConn = parts.flatMap(p => p.perConn ?? [])
    Object.assign(out, {
      established: sum('established'),
      msgs_per_s: round1(rateOf('msgs')),
      target_rate: opts.mode === 'latency' ? opts.rate : null,
      ...hist.summary('lat'),
      conn_msgs_min: perConn.length ? Math.min(...perConn) : null,
      conn_msgs_median: median(perConn),
      conn_msgs_max: perConn.length ? Math.max(...perConn) : null
    })
  } else if (opts.mode === 'handshake') {
    Object.assign(out, { handshakes: sum('handshakes'), handshakes_per_s: round1(rateOf('handshakes')), ...hist.summary('hs') })
  } else {
    const established = sum('established')
    const connectMs = Math.max(...parts.map(p => p.connectMs))
    const [before, , end] = samples
    Object.assign(out, {
      established,
      connect_ms: round1(connectMs),
      handshakes_per_s: round1(established / (connectMs / 1000)),
      ...hist.summary('hs'),
      server_rss_before_bytes: before?.rss ?? null,
      server_rss_connected_bytes: samples[1]?.rss ?? null,
      server_rss_end_bytes: end?.rss ?? null,
      server_rss_per_conn_bytes: before?.rss && end?.rss && established ? Math.round((end.rss - before.rss) / established) : null
    })
  }
  if (cpu.server0 && cpu.server1) {
    const wall = (cpu.server1.t - cpu.server0.t) / 1000
    out.server_cpu_pct = round1((cpu.server1.user + cpu.server1.sys - cpu.server0.user - cpu.server0.sys) / wall * 100)
  } else out.server_cpu_pct = null
  if (cpu.self0 && cpu.self1) {
    const used = (cpu.self1.user - cpu.self0.user + cpu.self1.system - cpu.self0.system) / 1e6
    out.cpu_self_pct = round1(used / ((cpu.selfT1 - cpu.selfT0) / 1000) * 100)
  }
  for (const [k, v] of Object.entries(errors)) out[`err_${k}`] = v
  out.errors = Object.values(errors).reduce((a, b) => a + b, 0)
  return out
}

async function main () {
  let opts
  try { opts = parseCli(process.argv.slice(2)) } catch (err) {
    process.stderr.write(`jsload: ${err.message}\n`)
    process.exit(2)
  }
  const samples = [sampleServer(opts.serverPid), null, null]
  const cpu = {}
  const windowTimers = []
  const hooks = {
    connected: () => { samples[1] = sampleServer(opts.serverPid) },
    start: () => {
      // Sample CPU (ours and the server's) over the measured window, after the warm-up.
      windowTimers.push(setTimeout(() => {
        cpu.server0 = sampleServer(opts.serverPid); cpu.self0 = process.cpuUsage(); cpu.selfT0 = Date.now()
      }, opts.warmup * 1000))
      windowTimers.push(setTimeout(() => {
        cpu.server1 = sampleServer(opts.serverPid); cpu.self1 = process.cpuUsage(); cpu.selfT1 = Date.now()
      }, (opts.warmup + opts.duration) * 1000 - 20))
    },
    beforeClose: () => { samples[2] = sampleServer(opts.serverPid) }
  }
  const watchdog = setTimeout(() => {
    process.stderr.write('jsload: watchdog fired\n')
    process.exit(3)
  }, (opts.warmup + opts.duration + 60) * 1000)
  watchdog.unref()
  const parts = await runAll(opts, hooks)
  for (const t of windowTimers) clearTimeout(t)
  const out = merge(opts, parts, samples, cpu)
  process.stdout.write(JSON.stringify(out) + '\n')
  process.exitCode = out.errors === 0 ? 0 : 1
}

if (isMainThread) main()
else workerMain()
