'use strict'
// What the always-on counters and the per-message diagnostics channels cost per message, counted
// in CPU instructions rather than timed: on a shared, busy machine throughput moves by tens of
// percent between runs, while the instructions of the same work do not move (two runs of the same
// variant differ by a few hundred instructions in a billion). bench/lib/echo-loop.js echoes 32 B
// messages on a server socket over an in-memory stream (no network, so the work is the same each
// run), under valgrind's cachegrind (instruction counts only) and V8's --predictable (no
// background threads), in three variants: counters on (the default), off
// (FASTIFY_RFC6455_COUNTERS=0, internal: the per-message counters and the per-message channels'
// hasSubscribers checks) and with a no-op subscriber on message:in/out. Each runs
// M1 then M2 messages; the difference over M2 - M1 messages cancels start-up and warm-up.
//   node bench/observability-cost.js [--m1 50000] [--m2 250000]
// Needs valgrind and a build (npm run build). Prints a table and the JSON of every run.
const { execFile } = require('node:child_process')
const path = require('node:path')
const { parseArgs } = require('node:util')

const { values } = parseArgs({ options: { m1: { type: 'string' }, m2: { type: 'string' } } })
const PER_CHUNK = 16
const M1 = Math.ceil(Number(values.m1 ?? 50_000) / PER_CHUNK) * PER_CHUNK
const M2 = Math.ceil(Number(values.m2 ?? 250_000) / PER_CHUNK) * PER_CHUNK
const LOOP = path.join(__dirname, 'lib', 'echo-loop.js')

const VARIANTS = [
  { name: 'counters on (default)', env: {}, args: [] },
  { name: 'counters off', env: { FASTIFY_RFC6455_COUNTERS: '0' }, args: [] },
  { name: 'message channels subscribed', env: {}, args: ['--subscribed'] }
]

/** Instructions of one run of the loop echoing `messages`. */
function instructions (variant, messages) {
  return new Promise((resolve, reject) => {
    execFile('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null',
      process.execPath, '--predictable', LOOP, String(messages), ...variant.args],
    { env: { ...process.env, ...variant.env }, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null) return reject(new Error(`${err.message}\n${stderr.slice(-2000)}`))
      const m = /I\s+refs:\s+([\d,]+)/.exec(stderr)
      if (m === null || !stdout.includes(`echoed ${messages} messages`)) return reject(new Error(`unexpected output:\n${stdout}\n${stderr.slice(-2000)}`))
      resolve(Number(m[1].replace(/,/g, '')))
    })
  })
}

async function main () {
  const rows = []
  for (const variant of VARIANTS) {
    const small = await instructions(variant, M1)
    const large = await instructions(variant, M2)
    const perMessage = (large - small) / (M2 - M1)
    rows.push({ variant: variant.name, small, large, perMessage })
    process.stderr.write(`${variant.name}: ${perMessage.toFixed(1)} instructions per echoed message\n`)
  }
  const base = rows[1].perMessage
  process.stdout.write(`\n32 B echo, instructions per message (cachegrind, ${M2 - M1} messages between two runs), node ${process.version}\n\n`)
  process.stdout.write('| variant | instructions / message | vs counters off |\n|---|---:|---:|\n')
  for (const r of rows) process.stdout.write(`| ${r.variant} | ${r.perMessage.toFixed(1)} | ${r.perMessage >= base ? '+' : ''}${((r.perMessage / base - 1) * 100).toFixed(2)}% |\n`)
  process.stdout.write('\n' + JSON.stringify(rows) + '\n')
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
