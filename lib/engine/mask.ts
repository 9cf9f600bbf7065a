// Masking (RFC 6455 section 5.3): octet i of the payload is XORed with octet (i mod 4) of the key.
// Unmasking is the same operation. This is the hottest loop for large messages, so the aligned
// middle of the range is processed a 32-bit word at a time.

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
/** Below this many words the typed-array view costs more than it saves. */
const WORD_LOOP_MIN_WORDS = 8

/**
 * XOR `data[start, end)` in place with `key`. `phase` is the key index for `data[start]`
 * (the number of payload bytes already processed, mod 4), so a payload can be unmasked in
 * pieces as it arrives. Returns the phase for the byte after `end`.
 */
export function applyMask (data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): number {
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
    const word = key[p] | (key[(p + 1) & 3] << 8) | (key[(p + 2) & 3] << 16) | (key[(p + 3) & 3] << 24)
    const view = new Int32Array(data.buffer, base + i, words)
    for (let w = 0; w < words; w++) view[w] ^= word
    i += words << 2
  }
  while (i < end) {
    data[i++] ^= key[p]
    p = (p + 1) & 3
  }
  return p
}

/** Copy `src` into `dst` at `offset` masked with `key` (client role: the caller's buffer is not mutated). */
export function copyMasked (src: Uint8Array, dst: Uint8Array, offset: number, key: Uint8Array): void {
  dst.set(src, offset)
  applyMask(dst, offset, offset + src.length, key, 0)
}
