#!/usr/bin/env node
'use strict'
// Side-by-side benchmark runner (`npm run bench` = build + this). See bench/README.md.
//
//   node bench/run.js                       3 interleaved rounds, results in bench/results/latest.*
//   node bench/run.js --quick               1 round, short durations
//   node bench/run.js --smoke               seconds-long, tiny loads; exit 1 if a server/generator fails
//   node bench/run.js --rounds 5 --only ws,ours --workloads echo-32b-p16,broadcast
//   node bench/run.js --duration 8 --out /tmp/bench --retries 2   (repeat runs disturbed by other processes)
//   node bench/run.js --app-heap 0          servers without the 32 MB application heap (see servers/app-heap.js)
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { parseArgs } = require('node:util')
const { WORKLOADS, PROFILES } = require('./lib/workloads')
const { SERVERS, startServer, stopServer } = require('./lib/servers')
const { buildWsload, wsloadVersion } = require('./lib/generators')
const { summarise, median } = require('./lib/stats')
const { markdown, chart } = require('./lib/report')
const { killAllSync } = require('./lib/proc')

const BENCH_DIR = __dirname
const PAUSE_MS = 300 // between runs: let the previous server's sockets finish closing
const DISTURBED_PCT = 20 // flag a run when other processes took more than this share of a CPU

function usage (message) {
  return Object.assign(new Error(message), { usage: true })
}

function cli () {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      only: { type: 'string' },
      workloads: { type: 'string' },
      out: { type: 'string' },
      retries: { type: 'string' },
      'app-heap': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(2, 10).map(l => l.slice(3)).join('\n') + '\n')
    process.stdout.write(`\nservers: ${Object.keys(SERVERS).join(', ')}\nworkloads: ${WORKLOADS.map(w => w.id).join(', ')}\n`)
    process.exit(0)
  }
  const mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full'
  const profile = { ...PROFILES[mode] }
  if (values.rounds) profile.rounds = Math.max(1, Number(values.rounds))
  if (values.duration) profile.d = Number(values.duration)
  if (values['app-heap'] !== undefined) profile.appHeapMb = Math.max(0, Number(values['app-heap']))
  const list = s => s ? s.split(',').map(x => x.trim()).filter(Boolean) : null
  const only = list(values.only)
  const wanted = list(values.workloads)
  for (const name of only ?? []) if (!(name in SERVERS)) throw usage(`unknown server ${name} (known: ${Object.keys(SERVERS).join(', ')})`)
  for (const id of wanted ?? []) if (!WORKLOADS.some(w => w.id === id)) throw usage(`unknown workload ${id} (known: ${WORKLOADS.map(w => w.id).join(', ')})`)
  const out = values.out ?? path.join(BENCH_DIR, 'results', mode === 'smoke' ? 'tmp' : '')
  return { mode, profile, only, wanted, out, retries: Math.max(0, Number(values.retries ?? (mode === 'smoke' ? 0 : 1))) }
}

function machine () {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)
  let commit = 'unknown'
  let dirty = false
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim()
    dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim() !== ''
  } catch {}
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: model ? model[1].trim() : os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    kernel: `${os.type()} ${os.release()}`,
    loadavg: os.loadavg().map(v => Math.round(v * 100) / 100),
    commit,
    dirty,
    packages: Object.fromEntries(['ws', 'bufferutil', 'fastify', '@fastify/websocket'].map(p => {
      try { return [p, require(`${p}/package.json`).version] } catch { return [p, null] }
    }))
  }
}

const log = s => process.stderr.write(s + '\n')
const pause = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Servers of a workload after the --only filter; the baseline stays so ratios exist. */
function serversFor (w, only) {
  if (!only) return [...w.servers]
  return w.servers.filter(s => only.includes(s) || s === w.baseline)
}

const isDisturbed = m => typeof m.extra?.other_cpu_pct === 'number' && m.extra.other_cpu_pct > DISTURBED_PCT

/** The order of the servers in round r: rotated by r, so no server always runs first. */
const rotate = (list, r) => list.map((_, i) => list[(i + r) % list.length])

async function measureOne (w, name, round, ctx) {
  let server
  try {
    server = await startServer(name, w.kind ?? 'echo', w.bareHeap === true ? 0 : ctx.profile.appHeapMb)
  } catch (err) {
    return { round, value: null, error: `start failed: ${err.message}` }
  }
  if (server.skipped) return { round, skipped: server.skipped }
  ctx.readyLines[name] ??= server.readyLine
  let m
  try {
    m = await w.measure({ server, p: ctx.profile, wsload: ctx.wsload })
  } catch (err) {
    m = { value: null, error: err.stack ?? String(err) }
  }
  const died = await stopServer(server)
  if (died) m.error = (m.error ? m.error + '\n' : '') + died
  return { round, ...m }
}

async function main () {
  const { mode, profile, only, wanted, out, retries } = cli()
  const workloads = WORKLOADS.filter(w => !wanted || wanted.includes(w.id))
  const started = Date.now()
  const meta = { ...machine(), mode, profile, rounds: profile.rounds }
  const built = buildWsload()
  const wsload = built.bin ?? null
  meta.generator = wsload ? `${wsloadVersion(wsload) ?? 'wsload'} --spin (C, epoll), jsload for latency/deflate` : `jsload only (${built.error})`
  log(`bench: ${mode}, ${profile.rounds} round(s), ${meta.cpu} x${meta.cores}, Node ${meta.node}, commit ${meta.commit.slice(0, 10)}`)
  if (!wsload) log(`bench: ${built.error}; falling back to jsload`)
  const ctx = { profile, wsload, readyLines: {} }
  const measurements = Object.fromEntries(workloads.map(w => [w.id, {}]))
  const skipped = {}
  const failures = []
  const disturbed = []
  for (let round = 1; round <= profile.rounds; round++) {
    for (const w of workloads) {
      for (const name of rotate(serversFor(w, only), round - 1)) {
        if (skipped[`${name} (${w.id})`]) continue
        let m = await measureOne(w, name, round, ctx)
        // wsload's other_cpu_pct = machine - wsload - server: other processes competing for the cores.
        // A disturbed run is repeated (up to --retries times) and the least disturbed one kept.
        for (let retry = 0; retry < retries && isDisturbed(m); retry++) {
          log(`[round ${round}] ${w.id.padEnd(17)} ${name.padEnd(18)} disturbed (other processes ${Math.round(m.extra.other_cpu_pct)}% cpu), repeating`)
          await pause(1000)
          const again = await measureOne(w, name, round, ctx)
          if (again.skipped || again.error || !(again.extra?.other_cpu_pct >= m.extra.other_cpu_pct)) m = again
        }
        if (m.skipped) {
          skipped[`${name} (${w.id})`] = m.skipped
          log(`[round ${round}] ${w.id.padEnd(17)} ${name.padEnd(18)} skipped: ${m.skipped}`)
          continue
        }
        ;(measurements[w.id][name] ??= []).push(m)
        if (m.error) failures.push({ workload: w.id, server: name, round, error: m.error })
        if (isDisturbed(m)) {
          m.disturbed = true
          disturbed.push({ workload: w.id, server: name, round, other_cpu_pct: m.extra.other_cpu_pct })
        }
        const cpu = (m.extra?.server_cpu_pct != null ? `  server cpu ${Math.round(m.extra.server_cpu_pct)}%` : '') +
          (m.disturbed ? `  DISTURBED: other processes ${Math.round(m.extra.other_cpu_pct)}% cpu` : '')
        log(`[round ${round}] ${w.id.padEnd(17)} ${name.padEnd(18)} ${m.value === null ? 'no figure' : `${Math.round(m.value * 10) / 10} ${w.unit}`}${cpu}${m.error ? `  ERROR: ${m.error}` : ''}`)
        await pause(PAUSE_MS)
      }
    }
  }
  const resultWorkloads = workloads.map(w => ({
    id: w.id,
    title: w.title,
    unit: w.unit,
    better: w.better,
    baseline: w.baseline,
    summary: summarise(w, measurements[w.id]),
    skipped: Object.fromEntries(Object.entries(skipped).filter(([k]) => k.endsWith(`(${w.id})`)).map(([k, v]) => [k.split(' ')[0], v])),
    measurements: measurements[w.id]
  }))
  const crosscheck = []
  const cc = measurements['jsload-crosscheck'] ?? {}
  const echo = measurements['echo-32b-p1'] ?? {}
  for (const server of Object.keys(cc)) {
    const js = median(cc[server].map(m => m.value))
    const c = median((echo[server] ?? []).filter(m => m.generator === 'wsload').map(m => m.value))
    crosscheck.push({ server, jsload: js, wsload: c, ratio: js !== null && c !== null ? js / c : null })
  }
  meta.elapsed_s = Math.round((Date.now() - started) / 1000)
  const servers = Object.fromEntries(Object.entries(SERVERS).map(([k, v]) => [k, { about: v.about, readyLine: ctx.readyLines[k] ?? null }]))
  const results = { meta, servers, workloads: resultWorkloads, crosscheck, skipped, failures, disturbed }
  fs.mkdirSync(out, { recursive: true })
  const md = markdown(results)
  fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify(results, null, 2) + '\n')
  fs.writeFileSync(path.join(out, 'latest.md'), md)
  fs.writeFileSync(path.join(out, 'latest.svg'), chart(results))
  process.stdout.write('\n' + md)
  log(`\nbench: ${meta.elapsed_s} s; wrote ${path.relative(process.cwd(), out) || '.'}/latest.{json,md,svg}`)
  if (failures.length > 0) {
    log(`bench: ${failures.length} measurement(s) failed:`)
    for (const f of failures) log(`  ${f.workload} / ${f.server} round ${f.round}: ${f.error}`)
    process.exitCode = 1
  }
}

main().catch(err => {
  log(err.usage || err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `bench: ${err.message} (see --help)` : err.stack ?? String(err))
  killAllSync()
  process.exit(2)
})
