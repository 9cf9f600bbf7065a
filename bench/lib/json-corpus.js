'use strict'
// A deterministic stream of JSON messages that look like an application's (orders, users,
// items): the same keys in every message, varying values. Consecutive messages share structure
// but not content, so a compressor with context takeover gains on the keys, not on repeats
// (identical messages would make context takeover look better than any real traffic does).

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory',
  'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter']
const TAGS = ['new', 'sale', 'blue', 'red', 'large', 'small', 'eco', 'premium', 'bundle', 'clearance']
const WORDS = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'lorem', 'ipsum', 'dolor', 'sit',
  'amet', 'order', 'shipped', 'delivered', 'pending', 'refund']

/** `count` messages of about `size` bytes each (UTF-8 JSON), the same for a given seed. */
function jsonMessages (count, size, seed = 42) {
  let s = seed
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
  const pick = a => a[Math.floor(rnd() * a.length)]
  const item = () => ({
    sku: 'SKU-' + Math.floor(rnd() * 1e6),
    title: Array.from({ length: 2 + Math.floor(rnd() * 4) }, () => pick(WORDS)).join(' '),
    price: Math.round(rnd() * 10000) / 100,
    qty: 1 + Math.floor(rnd() * 5),
    tags: Array.from({ length: Math.floor(rnd() * 3) }, () => pick(TAGS)),
    inStock: rnd() > 0.3
  })
  const out = []
  for (let i = 0; i < count; i++) {
    const name = pick(NAMES)
    const m = {
      type: pick(['update', 'snapshot', 'event']),
      seq: Math.floor(rnd() * 1e9),
      ts: new Date(1.79e12 + rnd() * 1e9).toISOString(),
      user: { id: Math.floor(rnd() * 1e6), name, email: `${name}@example.com` },
      items: []
    }
    while (JSON.stringify(m).length < size) m.items.push(item())
    out.push(Buffer.from(JSON.stringify(m)))
  }
  return out
}

module.exports = { jsonMessages }
