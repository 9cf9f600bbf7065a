import t from 'tap'
import { randomBytes } from 'node:crypto'
import { applyMask, copyMasked } from '../../lib/engine/mask'

function naive (data: Uint8Array, key: Uint8Array, phase: number): Buffer {
  const out = Buffer.from(data)
  for (let i = 0; i < out.length; i++) out[i] ^= key[(i + phase) & 3]
  return out
}

t.test('masking matches the byte-wise definition at every alignment, length and phase', async t => {
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d])
  const backing = randomBytes(300)
  for (let offset = 0; offset < 8; offset++) {
    for (const len of [0, 1, 3, 4, 5, 31, 32, 33, 64, 100, 257]) {
      for (let phase = 0; phase < 4; phase++) {
        const data = Buffer.from(backing.subarray(0, offset + len)).subarray(offset)
        const expected = naive(data, key, phase)
        const next = applyMask(data, 0, len, key, phase)
        if (!data.equals(expected)) t.fail(`offset ${offset} len ${len} phase ${phase}`)
        if (next !== ((phase + len) & 3)) t.fail(`phase after offset ${offset} len ${len}`)
      }
    }
  }
  t.pass('all combinations matched')
})

t.test('unmasking a payload in pieces gives the same bytes as unmasking it whole', async t => {
  const key = randomBytes(4)
  const original = randomBytes(10000)
  const whole = Buffer.from(original)
  applyMask(whole, 0, whole.length, key, 0)
  const pieces = Buffer.from(original)
  let phase = 0
  for (const [a, b] of [[0, 7], [7, 1000], [1000, 1001], [1001, 10000]]) phase = applyMask(pieces, a, b, key, phase)
  t.ok(pieces.equals(whole))
})

t.test('the RFC 6455 section 5.7 masked "Hello" unmasks to Hello', async t => {
  const data = Buffer.from([0x7f, 0x9f, 0x4d, 0x51, 0x58])
  applyMask(data, 0, 5, Buffer.from([0x37, 0xfa, 0x21, 0x3d]), 0)
  t.equal(data.toString(), 'Hello')
})

t.test('copyMasked leaves the source untouched', async t => {
  const src = Buffer.from('payload bytes that must not change')
  const before = Buffer.from(src)
  const dst = Buffer.alloc(src.length + 3)
  copyMasked(src, dst, 3, Buffer.from([1, 2, 3, 4]))
  t.ok(src.equals(before))
  t.ok(naive(src, Buffer.from([1, 2, 3, 4]), 0).equals(dst.subarray(3)))
})
