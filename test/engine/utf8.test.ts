import t from 'tap'
import fc from 'fast-check'
import { Utf8Validator, isValidUtf8 } from '../../lib/engine/utf8'

const strict = new TextDecoder('utf-8', { fatal: true })
function reference (bytes: Uint8Array): boolean {
  try { strict.decode(bytes); return true } catch { return false }
}

function validInPieces (bytes: Uint8Array, cuts: number[]): boolean {
  const v = new Utf8Validator()
  let last = 0
  for (const cut of [...cuts, bytes.length].sort((a, b) => a - b)) {
    if (cut < last) continue
    if (!v.write(bytes, last, cut)) return false
    last = cut
  }
  return v.end()
}

t.test('agrees with a strict decoder on random bytes split at random points', async t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 5 }), (bytes, cuts) => {
    return validInPieces(bytes, cuts.map(c => c % (bytes.length + 1))) === reference(bytes)
  }), { numRuns: 3000 })
  t.pass()
})

t.test('accepts any valid string, however it is split, including long non-ASCII runs', async t => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.array(fc.nat(2000), { maxLength: 6 }), (s, cuts) => {
    const bytes = Buffer.from(s)
    return validInPieces(bytes, cuts.map(c => c % (bytes.length + 1)))
  }), { numRuns: 2000 })
  t.pass()
})

t.test('rejects overlongs, surrogates, code points above U+10FFFF and stray continuation bytes', async t => {
  const bad = [[0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x80, 0x80, 0x80],
    [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xff], [0xe2, 0x82]]
  for (const b of bad) t.notOk(validInPieces(Buffer.from(b), []), Buffer.from(b).toString('hex'))
  const good = [[0xc2, 0x80], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf]]
  for (const b of good) t.ok(validInPieces(Buffer.from(b), []), Buffer.from(b).toString('hex'))
})

t.test('fails on the first invalid byte, without waiting for the end of the message', async t => {
  const v = new Utf8Validator()
  t.ok(v.write(Buffer.from('κόσμε'), 0, 10))
  t.notOk(v.write(Buffer.from([0xce, 0x41]), 0, 2), 'an ASCII byte where a continuation belongs')
})

t.test('a sequence left open at the end of a piece is fine until the message ends', async t => {
  const euro = Buffer.from('€')
  const v = new Utf8Validator()
  t.ok(v.write(euro, 0, 1))
  t.notOk(v.end(), 'open sequence at the end')
  t.ok(v.write(euro, 0, 2) && v.write(euro, 2, 3) && v.end(), 'reset after end()')
})

t.test('isValidUtf8 checks whole buffers', async t => {
  t.ok(isValidUtf8(Buffer.alloc(0)))
  t.ok(isValidUtf8(Buffer.from('ok ✓')))
  t.notOk(isValidUtf8(Buffer.from([0xff])))
})
