// Node's own masking (node:http websocketMask/websocketUnmask, Node 26.12+) as the engine takes it:
// checked on RFC 6455's "Hello" before use, then given ranges from NODE_MIN_BYTES. Node 20 to 26.11
// lack it, so a stand-in written here (a plain byte loop, and broken ones) plays its part; the real
// functions are tested in mask.test.ts where Node has them.
import t from 'tap'
import { applyMask, applyMaskJs, checkNodeMasking, copyMasked, setNodeMasking, NODE_MIN_BYTES, type NodeMasking } from '../../lib/engine/mask'

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d)

/** node:http's contract: unmask XORs all of `buffer` in place; mask writes `length` masked bytes at `offset`. */
function standIn (calls: string[]): { websocketMask: NodeMasking['mask'], websocketUnmask: NodeMasking['unmask'] } {
  return {
    websocketUnmask (buffer, key) {
      calls.push(`unmask ${buffer.length}`)
      for (let i = 0; i < buffer.length; i++) buffer[i] ^= key[i & 3]
    },
    websocketMask (source, key, output, offset, length) {
      calls.push(`mask ${length}`)
      for (let i = 0; i < length; i++) output[offset + i] = source[i] ^ key[i & 3]
    }
  }
}

function masked (data: Uint8Array, phase: number): Buffer {
  const out = Buffer.from(data)
  for (let i = 0; i < out.length; i++) out[i] ^= KEY[(i + phase) & 3]
  return out
}

t.test('functions that are missing, throw, or mask wrong are refused; right ones are taken', async t => {
  t.equal(checkNodeMasking(undefined), null)
  t.equal(checkNodeMasking({ websocketMask () {} }), null, 'one of the two is not enough')
  t.equal(checkNodeMasking({ websocketMask () {}, websocketUnmask () {} }), null, 'doing nothing is not masking')
  t.equal(checkNodeMasking({ websocketMask () { throw new Error('x') }, websocketUnmask () {} }), null, 'a throw is caught')
  const calls: string[] = []
  t.ok(checkNodeMasking(standIn(calls)) !== null)
  t.same(calls, ['unmask 5', 'mask 5'], 'checked on the five bytes of "Hello"')
})

t.test('once set, ranges from NODE_MIN_BYTES go to it with the key turned to their phase; shorter ones do not', async t => {
  const calls: string[] = []
  const before = setNodeMasking(checkNodeMasking(standIn(calls)))
  t.teardown(() => { setNodeMasking(before) })
  calls.length = 0
  for (const [len, phase] of [[NODE_MIN_BYTES - 1, 0], [NODE_MIN_BYTES, 3], [5000, 1], [4096, 0]]) {
    const plain = Buffer.alloc(len, 0x5a)
    plain.writeUInt32LE(len)
    const data = Buffer.from(plain)
    t.equal(applyMask(data, 0, len, KEY, phase), (phase + len) & 3)
    t.ok(data.equals(masked(plain, phase)), `${len} bytes from phase ${phase}`)
  }
  t.same(calls, [`unmask ${NODE_MIN_BYTES}`, 'unmask 5000', 'unmask 4096'])
  // copyMasked (the client's frames) copies and masks in one call from the same length
  calls.length = 0
  const src = Buffer.alloc(NODE_MIN_BYTES, 7)
  const dst = Buffer.alloc(NODE_MIN_BYTES + 10)
  copyMasked(src, dst, 10, KEY)
  t.ok(dst.subarray(10).equals(masked(src, 0)))
  const small = Buffer.alloc(3)
  copyMasked(src.subarray(0, 1), small, 2, KEY)
  t.equal(small[2], 7 ^ KEY[0])
  t.same(calls, [`mask ${NODE_MIN_BYTES}`], 'a short copy stays in JavaScript')
  const check = Buffer.alloc(NODE_MIN_BYTES, 9)
  applyMaskJs(check, 0, check.length, KEY, 0)
  t.ok(check.equals(masked(Buffer.alloc(NODE_MIN_BYTES, 9), 0)), 'the JavaScript path agrees with the stand-in')
})
