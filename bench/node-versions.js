'use strict'
// Our ratios to `ws` from two or more `npm run bench` runs side by side, one column per run (each
// run records its Node version; every ratio was taken against `ws` in the same round of the same
// run, so runs on different Node versions compare by their ratios, never their raw figures).
//
//   PATH=$PWD/.ci/node/24/bin:$PATH npm run bench -- --out bench/results/node24
//   node bench/node-versions.js bench/results/latest.json bench/results/node24/latest.json
const fs = require('node:fs')

const files = process.argv.slice(2)
if (files.length === 0 || files.includes('--help')) {
  console.log('usage: node bench/node-versions.js RUN1/latest.json RUN2/latest.json ... [--server ours]')
  process.exit(files.length === 0 ? 2 : 0)
}
const at = files.indexOf('--server')
const server = at === -1 ? 'ours' : files.splice(at, 2)[1]
const runs = files.map(f => JSON.parse(fs.readFileSync(f, 'utf8')))

const x = r => (r === null || r === undefined ? '–' : `${r.toFixed(2)}x`)
const lines = []
lines.push(`| workload (\`${server}\` / baseline of the same round) | ${runs.map(r => `Node ${r.meta.node.slice(1)}`).join(' | ')} |`)
lines.push(`|---|${runs.map(() => '---:').join('|')}|`)
const ids = [...new Set(runs.flatMap(r => r.workloads.map(w => w.id)))]
for (const id of ids) {
  const title = runs.map(r => r.workloads.find(w => w.id === id)).find(Boolean)
  const cells = runs.map(r => {
    const w = r.workloads.find(v => v.id === id)
    const name = w && !w.summary[server] && w.summary[`${server}-deflate`] ? `${server}-deflate` : server
    const s = w?.summary[name]?.ratio
    if (!s || s.median === null) return ''
    return `${x(s.median)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`
  })
  if (cells.every(c => c === '')) continue
  lines.push(`| ${title.title} (${title.better} is better) | ${cells.join(' | ')} |`)
}
lines.push('')
for (const r of runs) {
  const m = r.meta
  const disturbed = Array.isArray(r.disturbed) ? r.disturbed.length : 0
  lines.push(`- Node ${m.node}: ${m.date.slice(0, 10)}, commit ${m.commit.slice(0, 10)}${m.dirty ? ' (dirty)' : ''}, ${m.rounds} round(s), load average at start ${m.loadavg.join(' ')}, ${disturbed} measurement(s) disturbed by other processes`)
}
process.stdout.write(lines.join('\n') + '\n')
