// Work bounds instead of time bounds: a parser's cost counted in characters it reads, which does
// not change with the machine's load. The header parsers read strings only through charCodeAt and
// slice (no regular expression, no split: tokens.ts says why), so counting those two counts
// their work; a quadratic or backtracking parser shows as counts that grow faster than the input.
import type { Test } from 'tap'

/** Characters `fn` reads: one per charCodeAt call, plus every character it copies out with slice. */
export function charactersRead (fn: () => unknown): number {
  const proto = String.prototype
  const { charCodeAt, slice } = proto
  let n = 0
  proto.charCodeAt = function (this: string, i: number): number {
    n++
    return charCodeAt.call(this, i)
  }
  proto.slice = function (this: string, start?: number, end?: number): string {
    const out = slice.call(this, start, end)
    n += out.length
    return out
  }
  try {
    fn()
  } catch {
    // a rejected header costs what it read up to the rejection
  } finally {
    proto.charCodeAt = charCodeAt
    proto.slice = slice
  }
  return n
}

/**
 * Assert that `run(make(n))` reads at most `perChar` characters per input character, at a small
 * and a 16x larger size: a linear parser passes both, a quadratic one fails the larger (its
 * count per character grows with n).
 */
export function assertLinearWork (t: Test, label: string, make: (n: number) => string, run: (input: string) => unknown, perChar = 8): void {
  for (const n of [1 << 12, 1 << 16]) {
    const input = make(n)
    const read = charactersRead(() => run(input))
    t.ok(read <= perChar * input.length + 64,
      `${label}: ${read} characters read for ${input.length} of input (at most ${perChar} per character)`)
  }
}
