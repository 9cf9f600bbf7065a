// Masking (RFC 6455 section 5.3): octet i of the payload is XORed with octet (i mod 4) of the key.
// Unmasking is the same operation. This is the hottest loop for large messages. Ranges inside the
// WebAssembly read arena are masked there in place (SIMD). Elsewhere, where Node has its own
// masking (node:http websocketUnmask, Node 26.12+), ranges of at least NODE_MIN_BYTES go to it;
// without it, ranges of at least WASM_MIN_BYTES go to a WebAssembly SIMD loop (mask-wasm.ts), and
// shorter ones (or all of them where WebAssembly SIMD is missing) to a JavaScript loop a 32-bit
// word at a time. Crossovers measured with bench/mask.js.

import { createWasmMasker, createWasmArena, type WasmMasker, type WasmArena } from './mask-wasm'

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
/** Below this many words the typed-array view costs more than it saves. */
const WORD_LOOP_MIN_WORDS = 8
/**
 * From this range length on, copying into WebAssembly memory and back plus the SIMD loop beats
 * the JavaScript word loop (crossover measured with bench/mask.js).
 */
export const WASM_MIN_BYTES = 512

/** The WebAssembly masker of this process, or null where WebAssembly SIMD is unavailable. */
export const wasmMasker: WasmMasker | null = createWasmMasker()

/**
 * The WebAssembly memory the transport reads the network into (its shared read buffer), or null:
 * ranges inside it are unmasked in place, with no copies.
 */
export const readArena: WasmArena | null = wasmMasker === null ? null : createWasmArena()
const arenaBuffer: ArrayBufferLike | null = readArena === null ? null : readArena.bytes.buffer

/** node:http's websocketUnmask(buffer, key): XORs all of `buffer` in place, key[0] first. */
type NodeUnmask = (buffer: Uint8Array, key: Uint8Array) => void
/** node:http's websocketMask(source, key, output, offset, length): masked copy into `output`. */
type NodeMask = (source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number) => void

/** Node's own masking: node:http's two functions. */
export interface NodeMasking { mask: NodeMask, unmask: NodeUnmask }

/**
 * Node's own masking (Node 26.12+), or null where it is missing or wrong. It lives in node:http
 * but is a pure function over bytes; it is looked up with process.getBuiltinModule (no import, so
 * that the engine keeps importing no networking module) and checked on known bytes before use.
 */
function findNodeMasking (): NodeMasking | null {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule
  return typeof get === 'function' ? checkNodeMasking(get('node:http')) : null
}

/** `http`'s websocketMask and websocketUnmask if it has both and they mask right, else null. */
export function checkNodeMasking (http: unknown): NodeMasking | null {
  const fns = http as { websocketMask?: unknown, websocketUnmask?: unknown } | undefined
  if (typeof fns?.websocketMask !== 'function' || typeof fns.websocketUnmask !== 'function') return null
  const unmask = fns.websocketUnmask as NodeUnmask
  const mask = fns.websocketMask as NodeMask
  try {
    // RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d
    const probe = Uint8Array.of(0x7f, 0x9f, 0x4d, 0x51, 0x58)
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d)
    const copy = new Uint8Array(7)
    unmask(probe, key)
    mask(probe, key, copy, 2, 5)
    const ok = String.fromCharCode(...probe) === 'Hello' && copy[2] === 0x7f && copy[6] === 0x58 && copy[0] === 0
    return ok ? { mask, unmask } : null
  } catch {
    return null
  }
}

/** Node's own masking where this Node has it (26.12+), else null. */
export let nodeMasking: NodeMasking | null = findNodeMasking()

/** Mask with `masking` from now on (null: without Node's), returning what was used; for tests on every Node. */
export function setNodeMasking (masking: NodeMasking | null): NodeMasking | null {
  const before = nodeMasking
  nodeMasking = masking
  return before
}

/**
 * From this range length on, Node's native masking beats the JavaScript word loop and the
 * WebAssembly copy-in/copy-out (bench/mask.js on Node 26.12, heap buffers, three runs: at 256 B
 * 7.7-8.9 against 2.0-5.6 GB/s for JavaScript; at 128 B no steady winner, 3.0-5.8 against
 * 3.3-3.6; at 4 KiB 22-57 against 12-25 GB/s for WebAssembly). Inside the read arena the
 * WebAssembly loop works in place, and neither was consistently faster there.
 */
export const NODE_MIN_BYTES = 256

/** The key as a 32-bit word whose low byte is `key[phase]`: its little-endian bytes start at `phase`. */
function keyWord (key: Uint8Array, phase: number): number {
  return key[phase] | (key[(phase + 1) & 3] << 8) | (key[(phase + 2) & 3] << 16) | (key[(phase + 3) & 3] << 24)
}

/**
 * XOR `data[start, end)` in place with `key`. `phase` is the key index for `data[start]`
 * (the number of payload bytes already processed, mod 4), so a payload can be unmasked in
 * pieces as it arrives. Returns the phase for the byte after `end`.
 */
export function applyMask (data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): number {
  if (data.buffer === arenaBuffer) {
    // whole 64-byte blocks in place (a multiple of 4 bytes leaves the phase as it was), the tail in JS
    start += (readArena as WasmArena).maskBlocks(data, start, end, keyWord(key, phase & 3))
    return applyMaskJs(data, start, end, key, phase)
  }
  if (nodeMasking !== null && end - start >= NODE_MIN_BYTES) return applyMaskNode(data, start, end, key, phase)
  if (end - start >= WASM_MIN_BYTES && wasmMasker !== null) return applyMaskWasm(wasmMasker, data, start, end, key, phase)
  return applyMaskJs(data, start, end, key, phase)
}

/** The key rotated so that its first byte is `key[phase]` (read synchronously by Node, then reused). */
const rotatedKey = new Uint8Array(4)

function keyAt (key: Uint8Array, phase: number): Uint8Array {
  if (phase === 0) return key
  for (let i = 0; i < 4; i++) rotatedKey[i] = key[(phase + i) & 3]
  return rotatedKey
}

/**
 * Node's own masking (node:http websocketUnmask), same contract as applyMask; only where
 * {@link nodeMasking} is not null. Exported for tests and bench/mask.js.
 */
export function applyMaskNode (data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): number {
  if (end > start) (nodeMasking as NodeMasking).unmask(data.subarray(start, end), keyAt(key, phase & 3))
  return (phase + end - start) & 3
}

/** The WebAssembly path of applyMask, same contract, any length; exported for tests and bench/mask.js. */
export function applyMaskWasm (
  masker: WasmMasker, data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number
): number {
  // WebAssembly memory is little-endian on every host, so the word's low byte meets data[start].
  masker.mask(data, start, end, keyWord(key, phase & 3))
  return (phase + end - start) & 3
}

/** The JavaScript path of applyMask, same contract; exported so tests cover it on any engine. */
export function applyMaskJs (data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): number {
  let i = start
  let p = phase & 3
  const base = data.byteOffset
  // byte by byte up to a 4-byte boundary of the underlying ArrayBuffer
  while (i < end && ((base + i) & 3) !== 0) {
    data[i++] ^= key[p]
    p = (p + 1) & 3
  }
  const words = (end - i) >>> 2
  if (LITTLE_ENDIAN && words >= WORD_LOOP_MIN_WORDS) {
    xorWords(new Int32Array(data.buffer, base + i, words), keyWord(key, p))
    i += words << 2
  }
  while (i < end) {
    data[i++] ^= key[p]
    p = (p + 1) & 3
  }
  return p
}

/** XOR every element of `view` with `word`; unrolled 16 times: 2x the plain loop's throughput in V8 (8 times: 1.8x). */
function xorWords (view: Int32Array, word: number): void {
  const words = view.length
  const unrolled = words & ~15
  let w = 0
  while (w < unrolled) {
    view[w] ^= word
    view[w + 1] ^= word
    view[w + 2] ^= word
    view[w + 3] ^= word
    view[w + 4] ^= word
    view[w + 5] ^= word
    view[w + 6] ^= word
    view[w + 7] ^= word
    view[w + 8] ^= word
    view[w + 9] ^= word
    view[w + 10] ^= word
    view[w + 11] ^= word
    view[w + 12] ^= word
    view[w + 13] ^= word
    view[w + 14] ^= word
    view[w + 15] ^= word
    w += 16
  }
  while (w < words) view[w++] ^= word
}

/** Copy `src` into `dst` at `offset` masked with `key` (client role: the caller's buffer is not mutated). */
export function copyMasked (src: Uint8Array, dst: Uint8Array, offset: number, key: Uint8Array): void {
  // Node's own masking copies and masks in one pass
  if (nodeMasking !== null && src.length >= NODE_MIN_BYTES && dst.buffer !== arenaBuffer) {
    nodeMasking.mask(src, key, dst, offset, src.length)
    return
  }
  dst.set(src, offset)
  applyMask(dst, offset, offset + src.length, key, 0)
}
