'use strict'
// Medians, spreads and ratios to the baseline taken from the SAME round.

function median (values) {
  const s = values.filter(v => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b)
  if (s.length === 0) return null
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function spread (values) {
  const s = values.filter(v => typeof v === 'number' && Number.isFinite(v))
  if (s.length === 0) return { median: null, min: null, max: null, n: 0 }
  return { median: median(s), min: Math.min(...s), max: Math.max(...s), n: s.length }
}

/**
 * For one workload: measurements[server] = [{ round, value, ... }]. Adds `ratio` (value / baseline
 * value of the same round) to each measurement and returns per-server summaries.
 */
function summarise (workload, measurements) {
  const base = new Map((measurements[workload.baseline] ?? []).map(m => [m.round, m.value]))
  const out = {}
  for (const [server, list] of Object.entries(measurements)) {
    for (const m of list) {
      const b = base.get(m.round)
      m.ratio = typeof m.value === 'number' && typeof b === 'number' && b !== 0 ? m.value / b : null
    }
    const ratio = spread(list.map(m => m.ratio))
    // "advantage" is the ratio turned so that above 1 always means better than the baseline.
    const adv = v => v === null ? null : workload.better === 'lower' ? 1 / v : v
    out[server] = {
      value: spread(list.map(m => m.value)),
      ratio,
      advantage: { median: adv(ratio.median), min: adv(workload.better === 'lower' ? ratio.max : ratio.min), max: adv(workload.better === 'lower' ? ratio.min : ratio.max) }
    }
  }
  return out
}

module.exports = { median, spread, summarise }
