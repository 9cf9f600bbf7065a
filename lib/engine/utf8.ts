// Incremental UTF-8 validation (RFC 6455 section 8.1: text payloads and close reasons MUST be
// valid UTF-8; section 5.6). State survives between calls so that a message can be checked
// piece by piece as frames and TCP chunks arrive, failing on the first invalid byte rather
// than after buffering the whole message. Well-formed sequences per Unicode table 3-7.
import { isUtf8 } from 'node:buffer'

/** Below this length a JavaScript ASCII scan beats the call into the native validator. */
const NATIVE_MIN = 64

export class Utf8Validator {
  /** continuation bytes still expected for the current sequence */
  private need = 0
  /** allowed range of the next continuation byte (narrowed after E0, ED, F0, F4) */
  private lo = 0x80
  private hi = 0xbf

  /** Validate `buf[start, end)` after everything seen so far. False on the first invalid byte. */
  write (buf: Uint8Array, start: number, end: number): boolean {
    let i = start
    if (this.need === 0) {
      if (end - i >= NATIVE_MIN) {
        // A complete, valid range leaves no sequence open; otherwise it may just end mid-sequence,
        // which the byte loop below sorts out.
        if (isUtf8(buf.subarray(i, end))) return true
      } else {
        while (i < end && buf[i] < 0x80) i++
        if (i === end) return true
      }
    }
    return this.scan(buf, i, end)
  }

  /** True when no multi-byte sequence is left open; resets for the next message. */
  end (): boolean {
    const complete = this.need === 0
    this.reset()
    return complete
  }

  reset (): void {
    this.need = 0
    this.lo = 0x80
    this.hi = 0xbf
  }

  private scan (buf: Uint8Array, start: number, end: number): boolean {
    let need = this.need
    let lo = this.lo
    let hi = this.hi
    for (let i = start; i < end; i++) {
      const b = buf[i]
      if (need !== 0) {
        if (b < lo || b > hi) return false
        need--
        lo = 0x80
        hi = 0xbf
      } else if (b < 0x80) {
        continue
      } else if (b >= 0xc2 && b <= 0xdf) {
        need = 1
      } else if (b >= 0xe0 && b <= 0xef) {
        need = 2
        if (b === 0xe0) lo = 0xa0 // no overlong 3-byte forms
        else if (b === 0xed) hi = 0x9f // no UTF-16 surrogates
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3
        if (b === 0xf0) lo = 0x90 // no overlong 4-byte forms
        else if (b === 0xf4) hi = 0x8f // nothing above U+10FFFF
      } else {
        return false // 0x80-0xc1 as a lead byte, or 0xf5-0xff
      }
    }
    this.need = need
    this.lo = lo
    this.hi = hi
    return true
  }
}

/** Whole-buffer check, for close reasons and other complete payloads. */
export function isValidUtf8 (buf: Uint8Array): boolean {
  return buf.length === 0 || isUtf8(buf)
}
