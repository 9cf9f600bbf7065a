import t from 'tap'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { applyMask, applyMaskJs, applyMaskNode, applyMaskWasm, copyMasked, nodeMasking, NODE_MIN_BYTES, wasmMasker, WASM_MIN_BYTES } from '../../lib/engine/mask'
import { createWasmMasker, DEFAULT_SCRATCH_LIMIT, WasmMasker, type WasmApi } from '../../lib/engine/mask-wasm'

type Mask = (data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number) => number

function naive (data: Uint8Array, key: Uint8Array, phase: number): Buffer {
  const out = Buffer.from(data)
  for (let i = 0; i < out.length; i++) out[i] ^= key[(i + phase) & 3]
  return out
}

function requireMasker (masker: WasmMasker | null): WasmMasker {
  if (masker === null) throw new Error('WebAssembly SIMD is expected on the Node versions this project supports')
  return masker
}

/** The real WebAssembly API, typed here because this project's TS libs do not declare it. */
interface RealWasm {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { readonly exports: Record<string, unknown> }
}
const realWasm = (globalThis as unknown as { WebAssembly: RealWasm }).WebAssembly

const wasm = requireMasker(wasmMasker)
/** A masker whose memory may not grow past one 64 KiB page, so long ranges go in slices. */
const smallWasm = requireMasker(createWasmMasker(undefined, 65536))

const paths: Array<[string, Mask]> = [
  ['applyMask', applyMask],
  ['the JavaScript path', applyMaskJs],
  ['the WebAssembly path', (d, s, e, k, p) => applyMaskWasm(wasm, d, s, e, k, p)],
  ['the WebAssembly path in 64 KiB slices', (d, s, e, k, p) => applyMaskWasm(smallWasm, d, s, e, k, p)],
  // Node 26.12+ only: node:http's own websocketUnmask
  ...(nodeMasking === null ? [] : [['Node\'s own masking', applyMaskNode] as [string, Mask]])
]

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d])
const LENGTHS = [
  ...Array.from({ length: 71 }, (_, i) => i),
  ...Array.from({ length: 101 }, (_, i) => 1000 + i),
  WASM_MIN_BYTES - 1, WASM_MIN_BYTES, WASM_MIN_BYTES + 1,
  16384, 65535, 65536, 65537, (1 << 20) + 3
]
const backing = randomBytes((1 << 20) + 16)

/** `len` bytes of `backing` copied to `offset` bytes past an 8-byte boundary of a fresh buffer. */
function placed (offset: number, len: number): Buffer {
  const data = Buffer.alloc(offset + len + 8).subarray(offset, offset + len)
  backing.copy(data, 0, 0, len)
  return data
}

for (const [name, mask] of paths) {
  t.test(`${name} matches the byte-wise definition for every alignment 0..7, phase 0..3 and every length near a boundary`, async t => {
    const failures: string[] = []
    let checked = 0
    for (const len of LENGTHS) {
      for (let phase = 0; phase < 4; phase++) {
        const expected = naive(backing.subarray(0, len), KEY, phase)
        for (let offset = 0; offset < 8 && failures.length < 5; offset++) {
          // the range sits inside a larger buffer: bytes on both sides must be left alone
          const outer = Buffer.alloc(offset + len + 8, 0xaa)
          backing.copy(outer, offset, 0, len)
          const next = mask(outer, offset, offset + len, KEY, phase)
          const where = `offset ${offset} len ${len} phase ${phase}`
          if (!outer.subarray(offset, offset + len).equals(expected)) failures.push(`bytes differ: ${where}`)
          if (next !== ((phase + len) & 3)) failures.push(`returned phase ${next}: ${where}`)
          if (outer.subarray(0, offset).some(b => b !== 0xaa) || outer.subarray(offset + len).some(b => b !== 0xaa)) {
            failures.push(`wrote outside the range: ${where}`)
          }
          checked++
        }
      }
    }
    t.same(failures, [], 'the first failures, if any')
    t.equal(checked, LENGTHS.length * 4 * 8)
  })

  t.test(`${name} gives the same bytes whether a payload is unmasked whole or in pieces of any size`, async t => {
    const key = randomBytes(4)
    const original = placed(3, 70000)
    const whole = naive(original, key, 0)
    const pieces = Buffer.from(original)
    let phase = 0
    const cuts = [0, 1, 3, 7, 70, WASM_MIN_BYTES + 70, WASM_MIN_BYTES + 71, 2000, 2001, 68000, 69999, 70000]
    for (let i = 1; i < cuts.length; i++) phase = mask(pieces, cuts[i - 1], cuts[i], key, phase)
    t.ok(pieces.equals(whole))
    t.equal(phase, 70000 & 3)
  })

  t.test(`${name} agrees with the definition on random payloads, alignments, phases and cut points (property)`, async t => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 3 }), fc.array(fc.nat(3000), { maxLength: 6 }),
      (payload, key, offset, phase, rawCuts) => {
        const data = Buffer.alloc(offset + payload.length).subarray(offset)
        data.set(payload)
        const cuts = [...new Set([0, ...rawCuts.map(c => c % (payload.length + 1)), payload.length])].sort((a, b) => a - b)
        let p = phase
        for (let i = 1; i < cuts.length; i++) p = mask(data, cuts[i - 1], cuts[i], key, p)
        return data.equals(naive(payload, key, phase)) && p === ((phase + payload.length) & 3)
      }), { numRuns: 500 })
    t.pass('no counterexample')
  })
}

t.test('the RFC 6455 section 5.7 masked "Hello" unmasks to Hello', async t => {
  const data = Buffer.from([0x7f, 0x9f, 0x4d, 0x51, 0x58])
  applyMask(data, 0, 5, Buffer.from([0x37, 0xfa, 0x21, 0x3d]), 0)
  t.equal(data.toString(), 'Hello')
})

/** Node 26.12 added http.websocketMask/websocketUnmask; earlier versions have neither. */
function nodeHasOwnMasking (): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number)
  return major > 26 || (major === 26 && minor >= 12)
}

t.test('Node\'s own masking is found exactly where Node has it, and applyMask uses it from NODE_MIN_BYTES', async t => {
  t.equal(nodeMasking !== null, nodeHasOwnMasking(), `Node ${process.version}`)
  if (nodeMasking === null) return
  const real = nodeMasking.unmask
  const lengths: number[] = []
  nodeMasking.unmask = (buffer, key) => { lengths.push(buffer.length); real(buffer, key) }
  t.teardown(() => { (nodeMasking as { unmask: typeof real }).unmask = real })
  for (const [len, phase] of [[NODE_MIN_BYTES - 1, 0], [NODE_MIN_BYTES, 3], [70_000, 1]]) {
    const data = placed(1, len)
    t.equal(applyMask(data, 0, len, KEY, phase), (phase + len) & 3)
    t.ok(data.equals(naive(backing.subarray(0, len), KEY, phase)), `${len} bytes from phase ${phase} unmasked right`)
  }
  t.same(lengths, [NODE_MIN_BYTES, 70_000], 'the short range stayed in JavaScript; the others went to Node')
})

t.test('applyMask runs long ranges in WebAssembly and short ones in JavaScript where Node has no masking of its own', { skip: nodeMasking !== null && 'Node masks these itself' }, async t => {
  const scratch = wasm.scratchBytes()
  const long = placed(1, 4096)
  applyMask(long, 0, long.length, KEY, 2)
  // the module masked the range in its own memory, so the masked bytes are left there
  t.ok(Buffer.from(scratch.buffer, 0, 4096).equals(long))
  t.ok(long.equals(naive(backing.subarray(0, 4096), KEY, 2)))

  const current = wasm.scratchBytes()
  current.fill(0, 0, 4096)
  const short = placed(1, WASM_MIN_BYTES - 1)
  applyMask(short, 0, short.length, KEY, 0)
  t.ok(current.subarray(0, 4096).every(b => b === 0), 'a short range never touches WebAssembly memory')
  t.ok(short.equals(naive(backing.subarray(0, WASM_MIN_BYTES - 1), KEY, 0)))
})

t.test('the WebAssembly memory grows to fit a range, up to its limit, then masks in slices', async t => {
  const masker = requireMasker(createWasmMasker())
  t.equal(masker.scratchBytes().length, 65536, 'starts with one page')
  const data = placed(5, 300000)
  applyMaskWasm(masker, data, 0, data.length, KEY, 1)
  t.equal(masker.scratchBytes().length, 5 * 65536, 'grew to the pages 300000 bytes need')
  t.ok(data.equals(naive(backing.subarray(0, 300000), KEY, 1)))

  const original = randomBytes(DEFAULT_SCRATCH_LIMIT * 2 + 5)
  const large = Buffer.alloc(original.length + 7).subarray(7)
  original.copy(large)
  applyMaskWasm(masker, large, 0, large.length, KEY, 3)
  t.equal(masker.scratchBytes().length, DEFAULT_SCRATCH_LIMIT, 'stopped at the limit')
  t.ok(large.equals(naive(original, KEY, 3)))
  t.equal(requireMasker(createWasmMasker(undefined, 1000)).scratchBytes().length, 65536, 'a limit under a page means one page')
})

t.test('when the WebAssembly memory cannot grow, masking goes on correctly in slices of what it has', async t => {
  class NoGrowInstance {
    readonly exports: object
    constructor (module: object) {
      const real = new realWasm.Instance(module).exports
      const memory = real.memory as { readonly buffer: ArrayBuffer }
      this.exports = {
        mask: real.mask,
        memory: { get buffer () { return memory.buffer }, grow () { throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded') } }
      }
    }
  }
  const api: WasmApi = { Module: realWasm.Module, Instance: NoGrowInstance }
  const masker = requireMasker(createWasmMasker(api))
  const data = placed(2, 200003)
  applyMaskWasm(masker, data, 0, data.length, KEY, 0)
  t.equal(masker.scratchBytes().length, 65536)
  t.ok(data.equals(naive(backing.subarray(0, 200003), KEY, 0)))
})

t.test('createWasmMasker returns null without WebAssembly, when compiling fails, or when the exports are wrong', async t => {
  t.equal(createWasmMasker(null), null)
  const noSimd: WasmApi = {
    Module: class { constructor () { throw new Error('WebAssembly.Module(): invalid value type 0x7b') } },
    Instance: realWasm.Instance
  }
  t.equal(createWasmMasker(noSimd), null)
  const wrongExports: WasmApi = { Module: realWasm.Module, Instance: class { readonly exports = { mask: 1 } } }
  t.equal(createWasmMasker(wrongExports), null)
})

t.test('with WebAssembly disabled (node --jitless) applyMask falls back to JavaScript and stays correct', async t => {
  const modulePath = require.resolve('../../lib/engine/mask')
  const script = `
    const { applyMask, wasmMasker } = require(${JSON.stringify(modulePath)})
    const data = Buffer.alloc(5001).subarray(1)
    for (let i = 0; i < data.length; i++) data[i] = i * 7
    const key = [0x37, 0xfa, 0x21, 0x3d]
    const phase = applyMask(data, 0, data.length, Uint8Array.from(key), 1)
    const ok = data.every((b, i) => b === (((i * 7) & 255) ^ key[(i + 1) & 3]))
    console.log(JSON.stringify({ hasWasm: typeof WebAssembly !== 'undefined', masker: wasmMasker !== null, ok, phase }))`
  const child = spawnSync(process.execPath, [...process.execArgv, '--jitless', '-e', script], { encoding: 'utf8' })
  t.equal(child.status, 0, child.stderr)
  t.same(JSON.parse(child.stdout), { hasWasm: false, masker: false, ok: true, phase: 1 })
})

t.test('copyMasked leaves the source untouched, short or long', async t => {
  for (const len of [35, 5000]) {
    const src = randomBytes(len)
    const before = Buffer.from(src)
    const dst = Buffer.alloc(src.length + 3)
    copyMasked(src, dst, 3, Buffer.from([1, 2, 3, 4]))
    t.ok(src.equals(before))
    t.ok(naive(src, Buffer.from([1, 2, 3, 4]), 0).equals(dst.subarray(3)))
  }
})
