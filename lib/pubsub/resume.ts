// Resumable topics, the parts every adapter and the fan-out share: message ids, the bytes that
// carry an id to the client, and the `resume` query parameter a reconnecting client presents.
//
// Ids are `<ms>-<seq>` (two decimal integers, as Redis Streams write them): they increase per
// topic, and compare as the pair (ms, seq). The in-process adapter makes them from the clock
// (never going back), so a restarted process keeps going up and a client's id from before the
// restart reads as older than anything the new process holds: it gets a gap, never a silent skip.
//
// Wire format (README "Resumable topics"): a message of a resumable topic is sent with the
// opcode it was published with, its payload prefixed with one ASCII header line:
//   0x1E kind SP id SP encodeURIComponent(topic) LF   then the data (nothing for g and s)
// kind m: a message; g: gap (what came after your id up to <id> is lost; what is still held
// follows); s: synced (replay over, live from here; <id> is the newest id of the topic).
/** the first byte of every resume header (ASCII Record Separator: no JSON text starts with it) */
export const RESUME_MARK = 0x1e
export type ResumeKind = 'm' | 'g' | 's'

const ID = /^(\d{1,15})-(\d{1,15})$/

/** `id` split into its two numbers, or null if it is not an id of ours. */
export function parseId (id: string): [number, number] | null {
  const m = ID.exec(id)
  return m === null ? null : [Number(m[1]), Number(m[2])]
}

export function isId (id: string): boolean {
  return ID.test(id)
}

/** < 0 if `a` is older than `b`, 0 if equal, > 0 if newer; both must be ids (see isId). */
export function compareIds (a: string, b: string): number {
  const x = parseId(a)!
  const y = parseId(b)!
  return x[0] !== y[0] ? x[0] - y[0] : x[1] - y[1]
}

export function maxId (a: string, b: string): string {
  return compareIds(a, b) >= 0 ? a : b
}

/** Ids from the clock: `<ms>-<seq>`, never lower than the one before (the clock may step back). */
export class IdClock {
  private ms: number
  private seq = 0
  /** the id every later one is newer than: `<start ms>-0` */
  readonly start: string

  constructor (now = Date.now()) {
    this.ms = now
    this.start = `${now}-0`
  }

  next (now = Date.now()): string {
    if (now > this.ms) {
      this.ms = now
      this.seq = 0
    }
    return `${this.ms}-${++this.seq}`
  }

  /** the newest id given (the start id before any) */
  get last (): string {
    return `${this.ms}-${this.seq}`
  }
}

/** The header line before a message's data (or alone, for g and s). */
export function resumeHeader (kind: ResumeKind, id: string, topic: string): Buffer {
  return Buffer.from(`\x1e${kind} ${id} ${encodeURIComponent(topic)}\n`, 'latin1')
}

/** Topics and the id a client last saw of each, from its `resume` query parameters. */
export interface ResumeRequest {
  /** false: the parameter broke a bound or was malformed: no entry can be trusted */
  valid: boolean
  positions: Map<string, string>
}

const NONE: ResumeRequest = { valid: true, positions: new Map() }

/**
 * The `resume=<id>:<topic>` parameters of a request URL (one per topic, repeated). More than
 * `maxTopics` of them, a malformed one, or two for one topic make the whole request invalid.
 * The URL is already bounded by the HTTP parser (Node's maxHeaderSize, 16 KiB by default), and
 * nothing is kept for more than `maxTopics` entries.
 */
export function parseResume (url: string, maxTopics: number): ResumeRequest {
  const q = url.indexOf('?')
  if (q === -1) return NONE
  let params: URLSearchParams
  try {
    params = new URLSearchParams(url.slice(q + 1))
  } catch {
    return { valid: false, positions: new Map() }
  }
  const positions = new Map<string, string>()
  for (const [key, value] of params) {
    if (key !== 'resume') continue
    const colon = value.indexOf(':')
    const id = colon === -1 ? '' : value.slice(0, colon)
    const topic = value.slice(colon + 1)
    if (positions.size >= maxTopics || !isId(id) || positions.has(topic)) return { valid: false, positions: new Map() }
    positions.set(topic, id)
  }
  return positions.size === 0 ? NONE : { valid: true, positions }
}

/** What a resumable adapter still holds of a topic after a client's id. */
export interface ReplayResult {
  /** the newest id of the topic (the clock's start id if it has none): live messages are newer */
  last: string
  /** not null: messages after the client's id up to this one are lost (those held follow) */
  gap: string | null
  /** the messages after the client's id (or after `gap`), oldest first */
  messages: ReadonlyArray<{ id: string, data: Buffer, binary: boolean }>
}

/** The replay window's options, shared by the in-process and Redis adapters. */
export interface ResumeOptions {
  /** which topics are resumable (default: every topic) */
  topics?: (topic: string) => boolean
  /** messages held per topic (default 1000) */
  maxMessages?: number
  /** ms a message is held (default 300000: five minutes) */
  maxAge?: number
  /** bytes of messages held (in-process: all topics together, default 32 MiB; Redis: ignored, see README) */
  maxBytes?: number
  /** topics whose window is held (in-process, default 10000): the least recently published go first */
  maxTopics?: number
  /** most `resume` parameters one client may present (default 100) */
  maxResumeTopics?: number
}
