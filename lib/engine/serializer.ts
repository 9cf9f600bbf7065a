// Frame serialization (RFC 6455 section 5.2). Frames are written into a process-wide slab (like
// Node's Buffer pool), so an idle connection holds no output buffer at all, and everything one
// connection sends in one event-loop turn ends up in as few contiguous buffers as possible: one
// write, not one syscall per frame. Large payloads are referenced, not copied (server role).
import { randomFillSync } from 'node:crypto'
import { FIN_BIT, RSV1_BIT, MASK_BIT, LENGTH_16, LENGTH_64, type Role } from './constants'
import { applyMask } from './mask'

const SLAB_SIZE = 64 * 1024
/** Payloads up to this size are copied next to their header; larger ones are written by reference. */
const COPY_MAX = 4 * 1024

let slab = Buffer.allocUnsafe(SLAB_SIZE)
let slabUsed = 0

/** Reserve `size` bytes of the shared slab and return the offset; a full slab is replaced. */
function reserve (size: number): number {
  if (slabUsed + size > slab.length) {
    slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, size))
    slabUsed = 0
  }
  const at = slabUsed
  slabUsed += size
  return at
}

// Client masks come from a pooled CSPRNG buffer (section 5.3: unpredictable per frame).
const MASK_POOL_SIZE = 8 * 1024
const maskPool = Buffer.allocUnsafe(MASK_POOL_SIZE)
let maskPoolUsed = MASK_POOL_SIZE

function nextMaskKey (): Buffer {
  if (maskPoolUsed === MASK_POOL_SIZE) {
    randomFillSync(maskPool)
    maskPoolUsed = 0
  }
  const key = maskPool.subarray(maskPoolUsed, maskPoolUsed + 4)
  maskPoolUsed += 4
  return key
}

/** Write a frame header at `buf[at]`; returns its size. */
export function writeHeader (buf: Buffer, at: number, opcode: number, fin: boolean, rsv1: boolean,
  length: number, maskKey: Uint8Array | null): number {
  buf[at] = (fin ? FIN_BIT : 0) | (rsv1 ? RSV1_BIT : 0) | opcode
  const maskBit = maskKey === null ? 0 : MASK_BIT
  let p = at + 2
  // Section 5.2: the minimal number of bytes MUST be used to encode the length.
  if (length < LENGTH_16) {
    buf[at + 1] = maskBit | length
  } else if (length <= 0xffff) {
    buf[at + 1] = maskBit | LENGTH_16
    buf.writeUInt16BE(length, p)
    p += 2
  } else {
    buf[at + 1] = maskBit | LENGTH_64
    buf.writeUInt32BE(Math.floor(length / 0x100000000), p)
    buf.writeUInt32BE(length >>> 0, p + 4)
    p += 8
  }
  if (maskKey !== null) {
    buf[p] = maskKey[0]
    buf[p + 1] = maskKey[1]
    buf[p + 2] = maskKey[2]
    buf[p + 3] = maskKey[3]
    p += 4
  }
  return p - at
}

export function headerLength (length: number, masked: boolean): number {
  return (length < LENGTH_16 ? 2 : length <= 0xffff ? 4 : 10) + (masked ? 4 : 0)
}

/**
 * Outgoing bytes of one connection, waiting for the socket layer to take them. Consecutive
 * frames share one slab run; `take()` hands over the buffers to write and empties the queue.
 */
export class FrameWriter {
  /** bytes queued and not yet taken */
  pending = 0
  private readonly masking: boolean
  private chunks: Buffer[] | null = null
  // the open run in the shared slab: [runStart, runEnd) of `runSlab`
  private runSlab: Buffer | null = null
  private runStart = 0
  private runEnd = 0

  constructor (role: Role) {
    // Section 5.3: a client MUST mask every frame it sends; a server MUST NOT.
    this.masking = role === 'client'
  }

  /** Queue one frame. The payload is not modified; a server may reference it until it is written. */
  frame (opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): void {
    const length = payload.length
    const maskKey = this.masking ? nextMaskKey() : null
    const hlen = headerLength(length, maskKey !== null)
    if (length <= COPY_MAX || maskKey !== null) {
      const copyLen = length <= COPY_MAX ? length : 0
      const at = this.extend(hlen + copyLen)
      writeHeader(slab, at, opcode, fin, rsv1, length, maskKey)
      if (copyLen !== 0) {
        slab.set(payload, at + hlen)
        if (maskKey !== null) applyMask(slab, at + hlen, at + hlen + length, maskKey, 0)
      } else if (length !== 0) {
        // a large masked payload: one copy, masked in place, so the caller's buffer stays intact
        const copy = Buffer.allocUnsafe(length)
        copy.set(payload)
        applyMask(copy, 0, length, maskKey as Uint8Array, 0)
        this.closeRun()
        this.pushChunk(copy)
      }
    } else {
      const at = this.extend(hlen)
      writeHeader(slab, at, opcode, fin, rsv1, length, null)
      this.closeRun()
      this.pushChunk(payload instanceof Buffer ? payload : Buffer.from(payload.buffer, payload.byteOffset, length))
    }
    this.pending += hlen + length
  }

  /** Queue bytes that are already a complete frame (pub/sub frames built once for many sockets). */
  raw (bytes: Buffer): void {
    // alone in the queue, the shared frame itself is written: N subscribers, no copy
    if (bytes.length <= COPY_MAX && (this.runSlab !== null || this.chunks !== null)) {
      const at = this.extend(bytes.length)
      bytes.copy(slab, at)
    } else {
      this.closeRun()
      this.pushChunk(bytes)
    }
    this.pending += bytes.length
  }

  /** Hand over everything queued, in order: null when nothing is. */
  take (): Buffer[] | null {
    this.closeRun()
    const chunks = this.chunks
    this.chunks = null
    this.pending = 0
    return chunks
  }

  /** Drop everything queued (the connection is gone). */
  discard (): void {
    this.chunks = null
    this.runSlab = null
    this.pending = 0
  }

  /** Reserve `size` slab bytes right after the open run, or start a new run. */
  private extend (size: number): number {
    const at = reserve(size)
    if (this.runSlab === slab && this.runEnd === at) {
      this.runEnd = at + size
      return at
    }
    this.closeRun()
    this.runSlab = slab
    this.runStart = at
    this.runEnd = at + size
    return at
  }

  private closeRun (): void {
    if (this.runSlab === null) return
    this.pushChunk(this.runSlab.subarray(this.runStart, this.runEnd))
    this.runSlab = null
  }

  private pushChunk (buf: Buffer): void {
    if (this.chunks === null) this.chunks = [buf]
    else this.chunks.push(buf)
  }
}

/** Build one complete unmasked frame (server role) as a standalone buffer, e.g. for broadcast. */
export function buildFrame (opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): Buffer {
  const hlen = headerLength(payload.length, false)
  const out = Buffer.allocUnsafe(hlen + payload.length)
  writeHeader(out, 0, opcode, fin, rsv1, payload.length, null)
  out.set(payload, hlen)
  return out
}
