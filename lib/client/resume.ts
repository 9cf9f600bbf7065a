// The client's side of resumable topics (README "Resumable topics"): read the header the server
// puts before each message of a resumable topic, remember the last id seen per topic, drop what
// was seen already, and present those ids in the `resume` query parameters of the next connection.
// (The server's side is lib/pubsub/resume.ts; the layers keep the two apart, hence the few lines
// both have.)

/** What came with a message of a resumable topic. */
export interface ResumeHeader {
  kind: 'm' | 'g' | 's'
  id: string
  topic: string
  /** the data after the header (empty for g and s) */
  data: Buffer
}

const MARK = 0x1e
const LF = 0x0a
/** the longest header we read: kind, a 31-byte id, and an encoded topic of up to 4 KiB */
const MAX_HEADER = 4200
const ID = /^(\d{1,15})-(\d{1,15})$/

/** The header of `message`, or null if it does not start with one (a plain message). */
export function readResumeHeader (message: Buffer): ResumeHeader | null {
  if (message.length < 8 || message[0] !== MARK) return null
  const end = message.indexOf(LF, 1)
  if (end === -1 || end > MAX_HEADER) return null
  const [kind, id, encoded, extra] = message.toString('latin1', 1, end).split(' ')
  if ((kind !== 'm' && kind !== 'g' && kind !== 's') || !ID.test(id) || encoded === undefined || extra !== undefined) return null
  let topic: string
  try {
    topic = decodeURIComponent(encoded)
  } catch {
    return null
  }
  return { kind, id, topic, data: message.subarray(end + 1) }
}

/** < 0 if `a` is older than `b` (both ids: `<ms>-<seq>`). */
export function compareIds (a: string, b: string): number {
  const [am, as] = a.split('-').map(Number)
  const [bm, bs] = b.split('-').map(Number)
  return am !== bm ? am - bm : as - bs
}

/** The last id seen per topic, the most recently updated `max` of them. */
export class ResumePositions {
  private readonly ids = new Map<string, string>()

  constructor (private readonly max: number) {}

  get positions (): ReadonlyMap<string, string> { return this.ids }

  /**
   * Take in a header; true if the message it came with is to be delivered (new), false if it
   * was seen already (a duplicate after a reconnect).
   */
  take (h: ResumeHeader): boolean {
    const last = this.ids.get(h.topic)
    if (h.kind === 'm' && last !== undefined && compareIds(h.id, last) <= 0) return false
    // g and s set the position as the server says (a gap may move it back: the server forgot
    // ids newer than ours, e.g. a restart with a clock behind)
    this.ids.delete(h.topic)
    this.ids.set(h.topic, h.id)
    if (this.ids.size > this.max) this.ids.delete(this.ids.keys().next().value!)
    return true
  }

  forget (topic: string): void {
    this.ids.delete(topic)
  }

  /** `url` with one `resume=<id>:<topic>` parameter per topic (any earlier ones replaced). */
  apply (url: string | URL): URL {
    const target = new URL(url)
    target.searchParams.delete('resume')
    for (const [topic, id] of this.ids) target.searchParams.append('resume', `${id}:${topic}`)
    return target
  }
}
