'use strict'
// Log-linear latency histogram in microseconds: exact below 128 us, then 64 sub-buckets per power
// of two (~1.6% resolution). Histograms from several workers merge by adding counts.
const SIZE = 64 * 32 + 128

class Histogram {
  constructor (counts) {
    this.counts = counts ?? new Float64Array(SIZE)
  }

  static index (us) {
    const u = Math.min(Math.max(Math.ceil(us), 0), 2 ** 36)
    if (u < 128) return u
    const shift = Math.floor(Math.log2(u)) - 6
    return 64 * shift + Math.floor(u / 2 ** shift)
  }

  static value (idx) {
    if (idx < 128) return idx
    const shift = Math.floor(idx / 64) - 1
    const m = idx - 64 * shift
    return m * 2 ** shift + (2 ** shift - 1) / 2
  }

  record (us) { this.counts[Histogram.index(us)]++ }

  merge (other) {
    for (let i = 0; i < SIZE; i++) this.counts[i] += other.counts[i]
    return this
  }

  total () {
    let n = 0
    for (let i = 0; i < SIZE; i++) n += this.counts[i]
    return n
  }

  /** Value at quantile q (0..1), or null when empty. */
  quantile (q) {
    const n = this.total()
    if (n === 0) return null
    const rank = Math.max(1, Math.ceil(q * n))
    let seen = 0
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i]
      if (seen >= rank) return Histogram.value(i)
    }
    return null
  }

  summary (prefix) {
    const r = (q) => { const v = this.quantile(q); return v === null ? null : Math.round(v * 10) / 10 }
    return {
      [`${prefix}_p50_us`]: r(0.5),
      [`${prefix}_p90_us`]: r(0.9),
      [`${prefix}_p99_us`]: r(0.99),
      [`${prefix}_p999_us`]: r(0.999),
      [`${prefix}_max_us`]: r(1)
    }
  }
}

module.exports = { Histogram }
