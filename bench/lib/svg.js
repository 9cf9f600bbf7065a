'use strict'
// The results chart, drawn here as plain SVG: grouped bars of each server's advantage over the
// baseline per workload (ratio, inverted for lower-is-better figures), log scale, min-max whiskers.

const COLORS = {
  ours: '#d9480f',
  'ours-deflate': '#d9480f',
  ws: '#1971c2',
  'ws-deflate': '#1971c2',
  'ws-no-bufferutil': '#74c0fc',
  'fastify-websocket': '#2f9e44',
  ceiling: '#868e96'
}
const esc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * groups: [{ label, sublabel, bars: [{ server, value, min, max }] }] where value/min/max are
 * advantages (1 = same as the baseline). Returns the SVG text.
 */
function renderChart ({ title, subtitle, groups }) {
  const W = 1060
  const H = 470
  const left = 56
  const right = 16
  const top = 84
  const bottom = 92
  const plotW = W - left - right
  const plotH = H - top - bottom
  const all = groups.flatMap(g => g.bars.flatMap(b => [b.value, b.min, b.max])).filter(v => v > 0)
  const lo = Math.min(0.25, 2 ** Math.floor(Math.log2(Math.min(...all, 1))))
  const hi = Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(...all, 1))))
  const y = v => top + plotH * (1 - (Math.log2(v) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo)))
  const out = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`)
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`)
  out.push(`<text x="${left}" y="26" font-size="17" font-weight="600" fill="#212529">${esc(title)}</text>`)
  subtitle.split('\n').forEach((line, i) => {
    out.push(`<text x="${left}" y="${46 + i * 15}" font-size="12" fill="#495057">${esc(line)}</text>`)
  })
  for (let v = lo; v <= hi; v *= 2) {
    const yy = y(v).toFixed(1)
    out.push(`<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="${v === 1 ? '#495057' : '#e9ecef'}" stroke-width="${v === 1 ? 1.2 : 1}"/>`)
    out.push(`<text x="${left - 6}" y="${(+yy + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#495057">${v >= 1 ? v : String(v)}x</text>`)
  }
  const gw = plotW / Math.max(1, groups.length)
  groups.forEach((g, gi) => {
    const n = Math.max(1, g.bars.length)
    const bw = Math.min(26, (gw - 18) / n)
    const x0 = left + gi * gw + (gw - bw * n) / 2
    g.bars.forEach((b, bi) => {
      const x = x0 + bi * bw
      if (!(b.value > 0)) return
      const yv = y(b.value)
      const y1 = y(1)
      out.push(`<rect x="${(x + 1).toFixed(1)}" y="${Math.min(yv, y1).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${Math.max(1, Math.abs(y1 - yv)).toFixed(1)}" fill="${COLORS[b.server] ?? '#ae3ec9'}"><title>${esc(`${b.server}: ${b.value.toFixed(2)}x (${b.min.toFixed(2)}-${b.max.toFixed(2)})`)}</title></rect>`)
      if (b.min > 0 && b.max > 0 && b.max / b.min > 1.005) {
        const cx = (x + bw / 2).toFixed(1)
        out.push(`<line x1="${cx}" x2="${cx}" y1="${y(b.min).toFixed(1)}" y2="${y(b.max).toFixed(1)}" stroke="#212529" stroke-width="1"/>`)
      }
      const ty = b.value >= 1 ? Math.min(yv, y(b.max || b.value)) - 4 : Math.max(yv, y(b.min || b.value)) + 11
      out.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${ty.toFixed(1)}" font-size="9" text-anchor="middle" fill="#212529">${b.value.toFixed(2)}</text>`)
    })
    const cx = (left + gi * gw + gw / 2).toFixed(1)
    out.push(`<text x="${cx}" y="${H - bottom + 18}" font-size="11.5" text-anchor="middle" fill="#212529">${esc(g.label)}</text>`)
    if (g.sublabel) out.push(`<text x="${cx}" y="${H - bottom + 32}" font-size="10" text-anchor="middle" fill="#868e96">${esc(g.sublabel)}</text>`)
  })
  // One legend entry per colour: a server and its deflate variant share one.
  const legend = new Map()
  for (const s of new Set(groups.flatMap(g => g.bars.map(b => b.server)))) {
    const color = COLORS[s] ?? '#ae3ec9'
    legend.set(color, legend.has(color) ? `${legend.get(color)} / ${s}` : s)
  }
  let lx = left
  for (const [color, label] of legend) {
    out.push(`<rect x="${lx}" y="${H - 30}" width="12" height="12" fill="${color}"/>`)
    out.push(`<text x="${lx + 16}" y="${H - 20}" font-size="12" fill="#212529">${esc(label)}</text>`)
    lx += 28 + label.length * 6.6
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}

module.exports = { renderChart }
