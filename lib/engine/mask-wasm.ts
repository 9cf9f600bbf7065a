// WebAssembly SIMD masking (RFC 6455 section 5.3) without a native build: a 155-byte module
// embedded below XORs 64 bytes per loop iteration with a 128-bit splat of the key word. JavaScript
// cannot hand a Node buffer to WebAssembly directly, so each range is copied into the module's
// memory, masked there and copied back; two memcpys plus the SIMD loop still run several times
// faster than a 32-bit JavaScript loop once a range is a few hundred bytes long. A second instance
// (WasmArena) lends its memory out as the transport's shared read buffer: what the kernel reads
// there is unmasked in place, with no copy at all.
//
// The module, assembled once with wabt's wat2wasm (not a dependency; nothing is built at install):
//
//   (module
//     (memory (export "memory") 1)
//     ;; XOR memory[ptr, ptr + len) with $word repeated; len is a multiple of 64
//     (func (export "mask") (param $ptr i32) (param $len i32) (param $word i32)
//       (local $end i32)
//       (local $key v128)
//       (local.set $key (i32x4.splat (local.get $word)))
//       (local.set $end (i32.add (local.get $ptr) (local.get $len)))
//       (block $done
//         (loop $next
//           (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
//           (v128.store offset=0 (local.get $ptr) (v128.xor (v128.load offset=0 (local.get $ptr)) (local.get $key)))
//           (v128.store offset=16 (local.get $ptr) (v128.xor (v128.load offset=16 (local.get $ptr)) (local.get $key)))
//           (v128.store offset=32 (local.get $ptr) (v128.xor (v128.load offset=32 (local.get $ptr)) (local.get $key)))
//           (v128.store offset=48 (local.get $ptr) (v128.xor (v128.load offset=48 (local.get $ptr)) (local.get $key)))
//           (local.set $ptr (i32.add (local.get $ptr) (i32.const 64)))
//           (br $next)))))

const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00, // type section: (i32, i32, i32) -> ()
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, 1 page, no maximum
  0x07, 0x11, 0x02, // export section, 2 exports
  0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, // "memory" -> memory 0
  0x04, 0x6d, 0x61, 0x73, 0x6b, 0x00, 0x00, // "mask" -> function 0
  0x0a, 0x6c, 0x01, 0x6a, // code section, one body of 0x6a bytes
  0x02, 0x01, 0x7f, 0x01, 0x7b, // locals: $end i32, $key v128
  0x20, 0x02, 0xfd, 0x11, 0x21, 0x04, // $key = i32x4.splat($word)
  0x20, 0x00, 0x20, 0x01, 0x6a, 0x21, 0x03, // $end = $ptr + $len
  0x02, 0x40, 0x03, 0x40, // block $done, loop $next
  0x20, 0x00, 0x20, 0x03, 0x4f, 0x0d, 0x01, // br_if $done ($ptr >= $end)
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00, // +0
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x10, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x10, // +16
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x20, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x20, // +32
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x30, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x30, // +48
  0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x00, // $ptr += 64
  0x0c, 0x00, 0x0b, 0x0b, 0x0b // br $next, end loop, end block, end function
])

const PAGE_BYTES = 65536
/**
 * Largest scratch memory the module may grow to; longer ranges are masked in slices of this size.
 * Linear memory never shrinks, so this is what one process keeps for masking after its largest
 * message. Measured (bench/mask.js): slices of 1 MiB are as fast as one copy of a 16 MiB range.
 */
export const DEFAULT_SCRATCH_LIMIT = 1 << 20

/** The parts of the WebAssembly JS API used here (lib.dom is not in this project's TS libs). */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports?: object) => { readonly exports: object }
}
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow: (pages: number) => number
}
interface MaskExports {
  memory: WasmMemory
  mask: (ptr: number, length: number, word: number) => void
}

export class WasmMasker {
  private readonly memory: WasmMemory
  private readonly run: (ptr: number, length: number, word: number) => void
  private readonly limit: number
  // Both refer to the current linear memory; the ArrayBuffer is kept too because reading
  // `.buffer` on every call is a measurable part of the per-call cost.
  private scratch: Uint8Array
  private scratchBuffer: ArrayBuffer
  // The view copied back out after the last call: messages of one size tend to come in runs,
  // and reusing it saves a typed-array allocation per call (about 10% at 512 bytes).
  private result: Uint8Array

  constructor (exports: MaskExports, limit: number) {
    this.memory = exports.memory
    this.run = exports.mask
    // a whole number of pages, so a slice rounded up to 64 bytes always fits
    this.limit = Math.max(PAGE_BYTES, limit - (limit % PAGE_BYTES))
    this.scratchBuffer = this.memory.buffer
    this.scratch = new Uint8Array(this.scratchBuffer)
    this.result = this.scratch.subarray(0, 0)
  }

  /**
   * XOR `data[start, end)` in place with `word` repeated (its low byte first). Ranges longer
   * than the scratch memory go in slices, multiples of 4 bytes so the same word fits each.
   */
  mask (data: Uint8Array, start: number, end: number, word: number): void {
    const buffer = data.buffer
    const offset = data.byteOffset
    while (start < end) {
      const n = end - start <= this.scratch.length ? end - start : this.grow(end - start)
      this.scratch.set(new Uint8Array(buffer, offset + start, n))
      // Bytes past n are scratch too: rounding up to the 64-byte block lets the module skip a
      // tail loop, and those bytes are never copied out.
      this.run(0, (n + 63) & ~63, word)
      if (this.result.length !== n) this.result = new Uint8Array(this.scratchBuffer, 0, n)
      data.set(this.result, start)
      start += n
    }
  }

  /** The bytes of linear memory, for tests: after a call they hold the last slice masked. */
  scratchBytes (): Uint8Array {
    return this.scratch
  }

  /** Grow the memory towards `wanted` bytes (up to the limit); returns the bytes now usable. */
  private grow (wanted: number): number {
    const have = this.scratch.length
    if (have >= this.limit) return have
    const pages = Math.ceil((Math.min(wanted, this.limit) - have) / PAGE_BYTES)
    try {
      this.memory.grow(pages)
    } catch {
      return have // out of memory: keep masking in slices of what we have
    }
    this.scratchBuffer = this.memory.buffer // growing detached the old buffer and its views
    this.scratch = new Uint8Array(this.scratchBuffer)
    this.result = this.scratch.subarray(0, 0)
    return Math.min(wanted, this.scratch.length)
  }
}

/**
 * Linear memory lent out as a buffer: the transport reads the network into it, and ranges inside
 * it are masked in place by the SIMD loop, no copy in or out. It never grows (growing would
 * detach the buffer the transport holds), so it is one page: 64 KiB, a read's worth.
 */
export class WasmArena {
  /** the whole memory, as a Buffer */
  readonly bytes: Buffer
  private readonly run: (ptr: number, length: number, word: number) => void

  constructor (exports: MaskExports) {
    this.run = exports.mask
    this.bytes = Buffer.from(exports.memory.buffer, 0, PAGE_BYTES)
  }

  /**
   * XOR the 64-byte blocks of `data[start, end)` in place with `word` (`data` must be a view of
   * `bytes`); returns how many bytes that covered, a multiple of 64: the caller does the tail.
   */
  maskBlocks (data: Uint8Array, start: number, end: number, word: number): number {
    const n = (end - start) & ~63
    if (n !== 0) this.run(data.byteOffset + start, n, word)
    return n
  }
}

/** The arena twin of createWasmMasker: null where WebAssembly SIMD is missing. */
export function createWasmArena (
  api: WasmApi | null = (globalThis as { WebAssembly?: WasmApi }).WebAssembly ?? null
): WasmArena | null {
  if (api === null) return null
  try {
    const instance = new api.Instance(new api.Module(MODULE_BYTES))
    return isMaskExports(instance.exports) ? new WasmArena(instance.exports) : null
  } catch {
    return null
  }
}

function isMaskExports (exports: object): exports is MaskExports {
  const e = exports as Partial<MaskExports>
  return typeof e.mask === 'function' && typeof e.memory === 'object' && e.memory !== null
}

/**
 * Compile and instantiate the module, or return null where WebAssembly or its SIMD proposal is
 * missing (compiling a module that uses v128 is the feature test) so callers fall back to JS.
 */
export function createWasmMasker (
  api: WasmApi | null = (globalThis as { WebAssembly?: WasmApi }).WebAssembly ?? null,
  limit: number = DEFAULT_SCRATCH_LIMIT
): WasmMasker | null {
  if (api === null) return null
  try {
    const instance = new api.Instance(new api.Module(MODULE_BYTES))
    return isMaskExports(instance.exports) ? new WasmMasker(instance.exports, limit) : null
  } catch {
    return null
  }
}
