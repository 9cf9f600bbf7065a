'use strict'
// permessage-deflate memory modes side by side with `ws`: memory per connection after traffic,
// compression ratio and throughput, each server in its own process (bench/servers/deflate-modes.js,
// forked with --expose-gc), this process as the peer.
//
//   npm run build && node bench/deflate-memory.js            ~2 min; table on stdout, JSON with --json
//   node bench/deflate-memory.js --conns 2000 --rounds 3 --modes ws,ours:shared:shared
//   node bench/deflate-memory.js --smoke                     seconds; exit 1 if anything failed
//
// Per mode: the server starts; memory is read (after two forced GCs) with no connection, with
// --conns idle connections that negotiated deflate with a browser's offer (`permessage-deflate;
// client_max_window_bits`), and after each of them sent one ~2 KB compressed JSON message and got
// its compressed echo (read 0.2 s and --settle ms later: borrowed compressors are given back after 1-2 s idle). Then --streams of those connections each send --messages JSON messages of
// each --sizes (bench/lib/json-corpus.js: same keys, varying values), --depth in flight, and the
// echoes' compressed bytes give the ratio (compressed / original: lower is better) and the time
// the throughput. Rounds alternate the modes; the table shows medians and ratios to `ws` of the
// same round.
const { fork } = require('node:child_process')
const path = require('node:path')
const zlib = require('node:zlib')
const { parseArgs } = require('node:util')
const { openConnection, FrameReader } = require('./load/connection')
const { clientFrame } = require('./load/frames')
const { jsonMessages } = require('./lib/json-corpus')

const SERVER = path.join(__dirname, 'servers', 'deflate-modes.js')
const BROWSER_OFFER = 'permessage-deflate; client_max_window_bits'
const DEFAULT_MODES = ['ws', 'ours:borrowed:shared', 'ours:shared:shared', 'ours:dedicated-8kb:shared',
  'ours:dedicated-256kb:dedicated']

const { values: opts } = parseArgs({
  options: {
    conns: { type: 'string', default: '2000' },
    modes: { type: 'string', default: DEFAULT_MODES.join(',') },
    sizes: { type: 'string', default: '2048,16384' },
    streams: { type: 'string', default: '50' },
    messages: { type: 'string', default: '60' },
    depth: { type: 'string', default: '4' },
    settle: { type: 'string', default: '2500' },
    rounds: { type: 'string', default: '1' },
    smoke: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (opts.help) {
  process.stdout.write(require('node:fs').readFileSync(__filename, 'utf8').split('\n').slice(1, 17).map(l => l.slice(3)).join('\n') + '\n')
  process.exit(0)
}
const cfg = opts.smoke
  ? { conns: 50, streams: 5, messages: 5, depth: 2, rounds: 1, settleMs: 100, sizes: [2048], modes: ['ws', 'ours:borrowed:shared', 'ours:shared:shared', 'ours:dedicated-8kb:dedicated'] }
  : {
      conns: Number(opts.conns),
      streams: Number(opts.streams),
      messages: Number(opts.messages),
      depth: Number(opts.depth),
      settleMs: Number(opts.settle),
      rounds: Number(opts.rounds),
      sizes: opts.sizes.split(',').map(Number),
      modes: opts.modes.split(',')
    }
const log = msg => process.stderr.write(msg + '\n')

/** A client message: compressed on its own (valid with or without client context takeover), masked. */
function compressedFrame (payload) {
  const raw = zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
  return clientFrame(0x1, raw.subarray(0, raw.length - 4), true)
}

function startServer (mode) {
  return new Promise((resolve, reject) => {
    const child = fork(SERVER, ['--mode', mode], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${mode}: no ready message in 20 s`)) }, 20000)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`${mode}: server exited with ${code}`)) })
    child.on('message', msg => { if (msg.ready) { clearTimeout(timer); resolve({ child, port: msg.port }) } })
  })
}

function measure (child) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no memory reading in 20 s')), 20000)
    const on = msg => { if (msg.measured) { clearTimeout(timer); child.off('message', on); resolve(msg.measured) } }
    child.on('message', on)
    child.send('measure')
  })
}

/** A connection whose echoes resolve, in order, the promises `next()` returns. */
async function connect (port) {
  const { socket, rest } = await openConnection({ host: '127.0.0.1', port, deflate: true, offer: BROWSER_OFFER })
  const waiting = []
  const conn = {
    socket,
    errors: 0,
    next: () => new Promise(resolve => waiting.push(resolve))
  }
  const reader = new FrameReader({
    onMessage: (opcode, length, compressed) => { const w = waiting.shift(); if (w) w({ length, compressed }) },
    onClose: () => { conn.errors++ },
    onProtocolError: () => { conn.errors++; socket.destroy() },
    sendPong: frame => socket.write(frame)
  })
  socket.on('data', chunk => reader.feed(chunk))
  socket.on('error', () => { conn.errors++ })
  if (rest.length > 0) reader.feed(rest)
  return conn
}

async function inBatches (count, size, fn) {
  const out = []
  for (let i = 0; i < count; i += size) out.push(...await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, k) => fn(i + k))))
  return out
}

/** `streams` connections each echo `frames` in order, `depth` in flight: { seconds, wireBytes }. */
async function stream (conns, frames, depth) {
  let wireBytes = 0
  const start = process.hrtime.bigint()
  await Promise.all(conns.map(async conn => {
    let sent = 0
    const echoes = []
    const send = () => { echoes.push(conn.next()); conn.socket.write(frames[sent++]) }
    while (sent < Math.min(depth, frames.length)) send()
    for (let got = 0; got < frames.length; got++) {
      const echo = await echoes[got]
      wireBytes += echo.length
      if (sent < frames.length) send()
    }
  }))
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, wireBytes }
}

async function runMode (mode) {
  const { child, port } = await startServer(mode)
  try {
    const base = await measure(child)
    const conns = await inBatches(cfg.conns, 100, () => connect(port))
    const idle = await measure(child)
    const one = jsonMessages(64, 2048, 7).map(compressedFrame)
    // a hundred connections at a time, as traffic spread over time would: RSS keeps the high-water
    // mark of whatever is in flight at once, which is not memory per connection
    await inBatches(conns.length, 100, i => { const p = conns[i].next(); conns[i].socket.write(one[i % one.length]); return p })
    await new Promise(resolve => setTimeout(resolve, 200))
    const busy = await measure(child)
    // borrowed compressors go back to their pool after 1-2 s without sending
    await new Promise(resolve => setTimeout(resolve, cfg.settleMs))
    const after = await measure(child)
    const n = cfg.conns
    const row = {
      mode,
      idle_rss_per_conn: (idle.rss - base.rss) / n,
      busy_rss_per_conn: (busy.rss - base.rss) / n,
      rss_per_conn: (after.rss - base.rss) / n,
      deflate_rss_per_conn: (after.rss - idle.rss) / n,
      heap_per_conn: (after.heapUsed + after.external - base.heapUsed - base.external) / n,
      deflate_heap_per_conn: (after.heapUsed + after.external - idle.heapUsed - idle.external) / n,
      sizes: {}
    }
    for (const size of cfg.sizes) {
      const messages = jsonMessages(cfg.messages, size, 1000 + size)
      const original = messages.reduce((a, m) => a + m.length, 0) * Math.min(cfg.streams, n)
      const r = await stream(conns.slice(0, cfg.streams), messages.map(compressedFrame), cfg.depth)
      row.sizes[size] = { ratio: r.wireBytes / original, msgs_per_s: (Math.min(cfg.streams, n) * messages.length) / r.seconds }
    }
    row.errors = conns.reduce((a, c) => a + c.errors, 0)
    for (const c of conns) c.socket.destroy()
    return row
  } finally {
    child.kill('SIGKILL')
  }
}

const median = xs => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const kb = b => `${(b / 1024).toFixed(1)} KB`

function table (rounds) {
  const modes = cfg.modes
  const lines = [`| mode | RSS per connection: idle / 0.2 s after one message / ${cfg.settleMs / 1000} s after | of which deflate (last) | ${cfg.sizes.map(s => `ratio ${s / 1024} KiB (vs ws)`).join(' | ')} | ${cfg.sizes.map(s => `msgs/s ${s / 1024} KiB (vs ws)`).join(' | ')} |`,
    `|---|---:|---:|${cfg.sizes.map(() => '---:').join('|')}|${cfg.sizes.map(() => '---:').join('|')}|`]
  for (const mode of modes) {
    const rows = rounds.map(r => r[mode]).filter(Boolean)
    const vsWs = (size, key) => median(rounds.filter(r => r.ws && r[mode]).map(r => r[mode].sizes[size][key] / r.ws.sizes[size][key]))
    const cells = [
      ['idle_rss_per_conn', 'busy_rss_per_conn', 'rss_per_conn'].map(k => kb(median(rows.map(r => r[k])))).join(' / '),
      kb(median(rows.map(r => r.deflate_rss_per_conn))),
      ...cfg.sizes.map(s => `${median(rows.map(r => r.sizes[s].ratio)).toFixed(3)} (${vsWs(s, 'ratio').toFixed(2)}x)`),
      ...cfg.sizes.map(s => `${Math.round(median(rows.map(r => r.sizes[s].msgs_per_s)))} (${vsWs(s, 'msgs_per_s').toFixed(2)}x)`)
    ]
    lines.push(`| \`${mode}\` | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

async function main () {
  const rounds = []
  let failed = false
  log(`deflate-memory: Node ${process.version}, ${cfg.conns} connections, ${cfg.streams} streams x ${cfg.messages} messages, ${cfg.rounds} round(s)`)
  for (let round = 0; round < cfg.rounds; round++) {
    const results = {}
    // rotate the order each round so no mode always runs first
    const order = cfg.modes.map((_, i) => cfg.modes[(i + round) % cfg.modes.length])
    for (const mode of order) {
      try {
        const row = await runMode(mode)
        results[mode] = row
        if (row.errors > 0) failed = true
        log(`[round ${round + 1}] ${mode.padEnd(32)} ${kb(row.busy_rss_per_conn)}/conn after one message, ${kb(row.rss_per_conn)} ${cfg.settleMs} ms later (deflate ${kb(row.deflate_rss_per_conn)}, JS heap + external ${kb(row.deflate_heap_per_conn)}); ` +
          cfg.sizes.map(s => `${s} B: ratio ${row.sizes[s].ratio.toFixed(3)}, ${Math.round(row.sizes[s].msgs_per_s)} msgs/s`).join('; ') +
          (row.errors ? `; ${row.errors} ERRORS` : ''))
      } catch (err) {
        failed = true
        log(`[round ${round + 1}] ${mode}: FAILED ${err.message}`)
      }
    }
    rounds.push(results)
  }
  const meta = { node: process.version, date: new Date().toISOString(), ...cfg }
  if (opts.json) process.stdout.write(JSON.stringify({ meta, rounds }) + '\n')
  else if (!failed || rounds.some(r => r.ws)) process.stdout.write(`Node ${process.version}, ${cfg.conns} connections, ${cfg.rounds} round(s)\n\n${table(rounds)}\n`)
  process.exit(failed ? 1 : 0)
}

main().catch(err => { console.error(err); process.exit(1) })
