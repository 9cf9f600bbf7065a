'use strict'
// latest.json / latest.md / latest.svg from the collected measurements.
const { renderChart } = require('./svg')

function fmt (v, unit) {
  if (v === null || v === undefined) return '–'
  if (unit === 'us p99') return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${Math.round(v)} µs`
  if (unit === 'bytes/conn') return `${(v / 1000).toFixed(2)} KB`
  if (v >= 100000) return `${(v / 1000).toFixed(0)}k`
  if (v >= 10000) return `${(v / 1000).toFixed(1)}k`
  return v >= 100 ? String(Math.round(v)) : v.toFixed(1)
}
const x = r => r === null || r === undefined ? '–' : `${r.toFixed(2)}x`

function markdown (results) {
  const { meta, workloads } = results
  const servers = [...new Set(workloads.flatMap(w => Object.keys(w.summary)))]
  const lines = []
  lines.push(`Side by side on ${meta.cpu} (${meta.cores} cores), Node ${meta.node}, ${meta.date.slice(0, 10)}, commit ${meta.commit.slice(0, 10)}${meta.dirty ? ' (dirty)' : ''}.`)
  lines.push(`Generator: ${meta.generator}; ${meta.rounds} round(s), servers interleaved (order rotated each round), a fresh server process per measurement${meta.profile.appHeapMb > 0 ? `, each server carrying the same ${meta.profile.appHeapMb} MB application heap (bench/servers/app-heap.js; the bare-heap row and idle memory without it)` : ''}, ${meta.profile.w} s warm-up + ${meta.profile.d} s measured per echo run. Median of the rounds; ratio = server / baseline from the same round (baseline \`ws\` with bufferutil; \`ws-deflate\` for the deflate row).`)
  lines.push('')
  lines.push(`| workload | ${servers.join(' | ')} |`)
  lines.push(`|---|${servers.map(() => '---:').join('|')}|`)
  for (const w of workloads) {
    const cells = servers.map(s => {
      const sum = w.summary[s]
      if (!sum) return w.skipped?.[s] ? 'skipped' : ''
      if (sum.value.median === null) return 'failed'
      return `${fmt(sum.value.median, w.unit)} (${x(sum.ratio.median)})`
    })
    lines.push(`| ${w.title} — ${w.unit}, ${w.better} is better | ${cells.join(' | ')} |`)
  }
  lines.push('')
  lines.push('Spread over the rounds (min–max of the ratio to the baseline):')
  lines.push('')
  lines.push(`| workload | ${servers.join(' | ')} |`)
  lines.push(`|---|${servers.map(() => '---:').join('|')}|`)
  for (const w of workloads) {
    const cells = servers.map(s => {
      const r = w.summary[s]?.ratio
      return r && r.min !== null ? `${r.min.toFixed(2)}–${r.max.toFixed(2)}` : ''
    })
    lines.push(`| ${w.id} | ${cells.join(' | ')} |`)
  }
  if (results.crosscheck.length > 0) {
    lines.push('')
    lines.push('Generator cross-check (echo 32 B, 100 conns, medians): jsload vs wsload on the same server.')
    lines.push('')
    lines.push('| server | wsload msgs/s | jsload msgs/s | jsload / wsload |')
    lines.push('|---|---:|---:|---:|')
    for (const c of results.crosscheck) lines.push(`| ${c.server} | ${fmt(c.wsload, 'msgs/s')} | ${fmt(c.jsload, 'msgs/s')} | ${x(c.ratio)} |`)
  }
  const notes = Object.entries(results.skipped ?? {})
  if (notes.length > 0) {
    lines.push('')
    for (const [what, why] of notes) lines.push(`- skipped ${what}: ${why}`)
  }
  if (results.disturbed.length > 0) {
    lines.push('')
    lines.push(`- ${results.disturbed.length} measurement(s) ran while other processes used more than 20% of a CPU (wsload other_cpu_pct): ` +
      results.disturbed.map(d => `${d.workload}/${d.server} r${d.round} ${Math.round(d.other_cpu_pct)}%`).join(', '))
  }
  if (results.failures.length > 0) {
    lines.push('')
    for (const f of results.failures) lines.push(`- FAILED ${f.workload} / ${f.server} (round ${f.round}): ${f.error.split('\n')[0]}`)
  }
  return lines.join('\n') + '\n'
}

function chart (results) {
  const { meta } = results
  const groups = results.workloads.filter(w => w.id !== 'jsload-crosscheck').map(w => ({
    label: w.id,
    sublabel: w.baseline !== 'ws' ? `vs ${w.baseline}` : w.better === 'lower' ? `${w.unit.split(' ')[0]}, inverted` : w.unit,
    bars: Object.entries(w.summary)
      .filter(([, s]) => s.advantage.median !== null)
      .map(([server, s]) => ({ server, value: s.advantage.median, min: s.advantage.min ?? s.advantage.median, max: s.advantage.max ?? s.advantage.median }))
  })).filter(g => g.bars.length > 0)
  return renderChart({
    title: 'fastify-rfc6455 benchmark: advantage over ws (higher is better, log scale)',
    subtitle: `server / ws (with bufferutil) from the same round, inverted (ws / server) for latency and memory; median of ${meta.rounds} round(s), whiskers min–max\n` +
      `${meta.cpu}, ${meta.cores} cores · Node ${meta.node} · ${meta.date.slice(0, 10)} · commit ${meta.commit.slice(0, 10)} · ${meta.generator.replace(/ \(C, epoll\).*/, '')}`,
    groups
  })
}

module.exports = { markdown, chart }
