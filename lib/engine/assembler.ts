// Reassembly of a message's payload pieces into one buffer. The buffer grows geometrically with
// what arrives, never beyond what the frame headers announced nor the message size limit, so a
// message arriving in thousands of tiny fragments costs its own size plus a constant: no
// per-fragment object is kept (the tiny-fragment memory exhaustion reported against ws in 2026).

const EMPTY = Buffer.alloc(0)
const MIN_CAPACITY = 1024

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
      // Grow with what has arrived (doubling), never ahead of it to what a header announced: a
      // peer that announces 16 MiB and sends 1 KiB must hold 2 KiB here, not 16 MiB. Doubling
      // keeps the copies of a message that does arrive to under twice its size.
      let capacity = Math.max(MIN_CAPACITY, need * 2, this.buf === null ? 0 : this.buf.length * 2)
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
