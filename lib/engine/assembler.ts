// Reassembly of a message's payload pieces into one buffer. The buffer grows geometrically with
// what arrives (at most 8x it), never beyond what the frame headers announced nor the message
// size limit, so a message arriving in thousands of tiny fragments costs its own size plus a
// constant: no per-fragment object is kept (the tiny-fragment memory exhaustion reported against
// ws in 2026).

const EMPTY = Buffer.alloc(0)
const MIN_CAPACITY = 1024
/** how far ahead of the bytes received the buffer may grow (what a peer can make us hold per byte sent) */
const GROWTH = 8

export class MessageAssembler {
  private buf: Buffer | null = null
  private used = 0

  get length (): number { return this.used }

  /**
   * Append `piece`. `expected` is how many bytes the message is known to need in all (what has
   * arrived plus the rest of the current frame), `limit` the most it may ever need.
   */
  append (piece: Uint8Array, expected: number, limit: number): void {
    const need = this.used + piece.length
    if (this.buf === null || need > this.buf.length) {
      // Grow with what has arrived, never far ahead of it to what a header announced: a peer that
      // announces 16 MiB and sends 1 KiB holds 8 KiB here, not 16 MiB. Eight times what arrived
      // keeps a large message that does arrive to two or three copies of growing.
      let capacity = Math.max(MIN_CAPACITY, need * GROWTH, this.buf === null ? 0 : this.buf.length * 2)
      if (capacity > expected) capacity = expected
      if (capacity > limit) capacity = limit
      if (capacity < need) capacity = need
      const next = Buffer.allocUnsafe(capacity)
      if (this.buf !== null && this.used !== 0) this.buf.copy(next, 0, 0, this.used)
      this.buf = next
    }
    this.buf.set(piece, this.used)
    this.used = need
  }

  /** The assembled message (a view of exactly its bytes); the assembler starts empty again. */
  take (): Buffer {
    const buf = this.buf
    const used = this.used
    this.buf = null
    this.used = 0
    return buf === null ? EMPTY : buf.subarray(0, used)
  }

  clear (): void {
    this.buf = null
    this.used = 0
  }
}
