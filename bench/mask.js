'use strict'
// Micro-benchmark of WebSocket masking (lib/engine/mask.ts), in GB/s of payload masked in place.
//
//   npm run build && node bench/mask.js
//   node bench/mask.js --sizes 256,512,768,1024 --rounds 9 --offset 0
//
// Rows: sizes; columns: implementations, all on the same buffer starting `--offset` bytes past an
// 8-byte boundary (1 by default: payloads inside a received chunk are rarely aligned).
//   before      the 32-bit word loop that mask.ts had before the WebAssembly path (kept here as
//               the baseline)
//   js          applyMaskJs: the current JavaScript path (the fallback without WebAssembly SIMD)
//   wasm        the WebAssembly SIMD masker called directly, whatever the size
//   applyMask   what the engine calls: wasm from WASM_MIN_BYTES on, js below
//   bufferutil  ws's native addon, if installed, for reference
//   node        Node's own http.websocketUnmask (Node 26.12+), when present
//   arena       applyMask on a range inside the WebAssembly read arena (received frames: in place)
//   node-arena  http.websocketUnmask on the same arena range
// Each round times every implementation once (interleaved, so a busy neighbour slows all
// columns alike); the best round of each is reported, since interference only ever slows a run.

const { parseArgs } = require('node:util')
const path = require('node:path')

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '16,128,1024,16384,1048576' },
    rounds: { type: 'string', default: '7' },
    offset: { type: 'string', default: '1' },
    ms: { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
if (args.help) {
  console.log('usage: node bench/mask.js [--sizes 16,128,...] [--rounds 7] [--offset 1] [--ms 60] [--json]')
  process.exit(0)
}

let mask
try {
  mask = require(path.join(__dirname, '..', 'dist', 'engine', 'mask.js'))
} catch (err) {
  console.error(`bench/mask.js: cannot load dist/engine/mask.js (${err.code || err.message}); run npm run build first`)
  process.exit(2)
}
let bufferutil = null
try { bufferutil = require('bufferutil') } catch {}

/** The pre-WebAssembly implementation, for the "before" column. */
function before (data, start, end, key, phase) {
  let i = start
  let p = phase & 3
  const base = data.byteOffset
  while (i < end && ((base + i) & 3) !== 0) {
    data[i++] ^= key[p]
    p = (p + 1) & 3
  }
  const words = (end - i) >>> 2
  if (words >= 8) {
    const word = key[p] | (key[(p + 1) & 3] << 8) | (key[(p + 2) & 3] << 16) | (key[(p + 3) & 3] << 24)
    const view = new Int32Array(data.buffer, base + i, words)
    for (let w = 0; w < words; w++) view[w] ^= word
    i += words << 2
  }
  while (i < end) {
    data[i++] ^= key[p]
    p = (p + 1) & 3
  }
  return p
}

// Node 26.12+ has its own native masking in node:http (what ws 8.22+ uses when present)
const nodeHttp = require('node:http')
const nodeUnmask = typeof nodeHttp.websocketUnmask === 'function' ? nodeHttp.websocketUnmask : null

const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d])
const impls = [
  ['before', (buf) => before(buf, 0, buf.length, key, 0)],
  ['js', (buf) => mask.applyMaskJs(buf, 0, buf.length, key, 0)],
  mask.wasmMasker && ['wasm', (buf) => mask.applyMaskWasm(mask.wasmMasker, buf, 0, buf.length, key, 0)],
  ['applyMask', (buf) => mask.applyMask(buf, 0, buf.length, key, 0)],
  bufferutil && ['bufferutil', (buf) => bufferutil.unmask(buf, key)],
  nodeUnmask && ['node', (buf) => nodeUnmask(buf, key)],
  // in place inside the WebAssembly read arena, as received frames are (sizes up to the arena's)
  mask.readArena && ['arena', (buf) => mask.applyMask(buf, 0, buf.length, key, 0), 'arena'],
  mask.readArena && nodeUnmask && ['node-arena', (buf) => nodeUnmask(buf, key), 'arena']
].filter(Boolean)

/** Iterations of `fn` that take about `ms` milliseconds, found by doubling. */
function calibrate (fn, buf, ms) {
  let n = 1
  for (;;) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn(buf)
    if (Number(process.hrtime.bigint() - t0) >= ms * 1e5) return Math.ceil(n * 10)
    n *= 2
  }
}

function gbps (fn, buf, iterations) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) fn(buf)
  return buf.length * iterations / Number(process.hrtime.bigint() - t0)
}

const sizes = args.sizes.split(',').map(Number)
const offset = Number(args.offset)
const rounds = Number(args.rounds)
const results = []
for (const size of sizes) {
  const heapBuf = Buffer.alloc(size + 8).subarray(offset, offset + size)
  const arenaBytes = mask.readArena ? mask.readArena.bytes : null
  const arenaBuf = arenaBytes && size + offset <= arenaBytes.length ? arenaBytes.subarray(offset, offset + size) : null
  const plan = impls.filter(([, , where]) => where !== 'arena' || arenaBuf !== null).map(([name, fn, where]) => {
    const buf = where === 'arena' ? arenaBuf : heapBuf
    return { name, fn, buf, iterations: calibrate(fn, buf, Number(args.ms)), best: 0 }
  })
  for (let r = 0; r < rounds; r++) {
    for (const p of plan) p.best = Math.max(p.best, gbps(p.fn, p.buf, p.iterations))
  }
  results.push({ size, offset, gbps: Object.fromEntries(plan.map(p => [p.name, +p.best.toFixed(2)])) })
}

if (args.json) {
  console.log(JSON.stringify({ node: process.version, wasm: mask.wasmMasker !== null, wasmMinBytes: mask.WASM_MIN_BYTES, results }, null, 2))
} else {
  const names = impls.map(([name]) => name)
  console.log(`masking GB/s (best of ${rounds} rounds, start offset ${offset}, node ${process.version}, ` +
    `wasm ${mask.wasmMasker ? 'on' : 'unavailable'}, WASM_MIN_BYTES ${mask.WASM_MIN_BYTES})`)
  console.log(['size'.padStart(9), ...names.map(n => n.padStart(11))].join(''))
  for (const r of results) console.log([String(r.size).padStart(9), ...names.map(n => (r.gbps[n] === undefined ? '-' : r.gbps[n].toFixed(2)).padStart(11))].join(''))
}
