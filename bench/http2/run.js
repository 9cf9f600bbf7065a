'use strict'
// 1,000 WebSockets over ONE HTTP/2 connection (RFC 8441) against 1,000 over HTTP/1.1 (one TCP
// connection each), on the same server (dist/bin/echo.js, with and without --http2) and the same
// client (the library's own, bench/http2/client.js), side by side in one run, the order swapped
// each round. Per transport: handshakes per second (100 in flight), server RSS per open socket
// (idle, sampled 1 s after the last handshake), and echoes per second with one 32 B message in
// flight per socket. The ratio is HTTP/2 over HTTP/1.1 from the same round.
//   npm run build && node bench/http2/run.js [--count 1000] [--seconds 4] [--rounds 3]
// Writes bench/results/http2.json and .md (and prints the table).
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { killAllSync } = require('../lib/proc')

const ROOT = path.join(__dirname, '..', '..')
const ECHO = path.join(ROOT, 'dist', 'bin', 'echo.js')
const CLIENT = path.join(__dirname, 'client.js')

const opt = { count: 1000, seconds: 4, rounds: 3 }
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].slice(2)] = Number(process.argv[i + 1])

const children = new Set()
/** `sh -c 'ulimit -n HARD; exec node ...'`: 1,000 connections need more than the default 1,024 descriptors on some machines */
function start (args) {
  const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args],
    { stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  child.out = ''
  child.stdout.on('data', c => { child.out += c })
  child.stderr.on('data', c => { child.out += c })
  child.once('exit', () => children.delete(child))
  return child
}
process.once('exit', () => { for (const c of children) c.kill('SIGKILL'); killAllSync() })

function line (child, pattern, ms = 60_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms:\n${child.out}`)), ms)
    const check = () => {
      const m = pattern.exec(child.out)
      if (m === null) return
      clearTimeout(timer)
      child.stdout.off('data', check)
      resolve(m)
    }
    child.stdout.on('data', check)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`exited (${code}) before ${pattern}:\n${child.out}`)) })
    check()
  })
}

function rss (pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m[1]) * 1024
}
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function measure (transport) {
  const h2 = transport === 'http2'
  const server = start([ECHO, '--port', '0', ...(h2 ? ['--http2', '--max-http2-websockets', String(opt.count)] : [])])
  const port = Number((await line(server, /listening on \S*:(\d+)\//))[1])
  await sleep(500)
  const before = rss(server.pid)
  const client = start([CLIENT, '--port', String(port), '--count', String(opt.count), '--seconds', String(opt.seconds), ...(h2 ? ['--http2'] : [])])
  const opened = JSON.parse((await line(client, /opened (\{.*\})\n/))[1])
  await sleep(1000)
  const open = rss(server.pid)
  client.stdin.write('go\n')
  const done = JSON.parse((await line(client, /done (\{.*\})\n/, (opt.seconds + 30) * 1000))[1])
  await new Promise(resolve => { client.once('exit', resolve); setTimeout(resolve, 5000) })
  server.kill('SIGKILL')
  return { transport, handshakesPerSec: opened.handshakesPerSec, rssPerSocket: (open - before) / opt.count, echoesPerSec: done.echoesPerSec }
}

const median = xs => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

async function main () {
  if (!fs.existsSync(ECHO)) throw new Error('dist/bin/echo.js is missing: npm run build first')
  const rounds = []
  for (let r = 0; r < opt.rounds; r++) {
    const order = r % 2 === 0 ? ['http1', 'http2'] : ['http2', 'http1']
    const round = {}
    for (const transport of order) round[transport] = await measure(transport)
    rounds.push(round)
    console.error(`round ${r + 1}: ${JSON.stringify(round)}`)
  }
  const keys = [
    ['handshakesPerSec', 'handshakes/s (100 in flight), higher is better', v => v.toFixed(0)],
    ['rssPerSocket', 'server RSS per open idle socket, lower is better', v => `${(v / 1024).toFixed(2)} KB`],
    ['echoesPerSec', `echoes/s, 32 B, one in flight per socket, ${opt.seconds} s, higher is better`, v => v.toFixed(0)]
  ]
  let md = `# ${opt.count} WebSockets over one HTTP/2 connection vs ${opt.count} HTTP/1.1 connections\n\n`
  md += `${os.cpus()[0].model} (${os.cpus().length} cores), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; `
  md += `median of ${opt.rounds} rounds, order swapped each round; ratio = HTTP/2 / HTTP/1.1 from the same round (median).\n\n`
  md += '| measure | HTTP/1.1 | HTTP/2 | ratio (spread) |\n|---|---:|---:|---:|\n'
  for (const [key, label, fmt] of keys) {
    const ratios = rounds.map(r => r.http2[key] / r.http1[key])
    md += `| ${label} | ${fmt(median(rounds.map(r => r.http1[key])))} | ${fmt(median(rounds.map(r => r.http2[key])))} | ` +
      `${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}) |\n`
  }
  const out = path.join(ROOT, 'bench', 'results')
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, 'http2.json'), JSON.stringify({ options: opt, node: process.version, rounds }, null, 2) + '\n')
  fs.writeFileSync(path.join(out, 'http2.md'), md)
  process.stdout.write(md)
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
