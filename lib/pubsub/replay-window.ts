// The in-process replay window: what the memory adapter still holds of each resumable topic, so
// that a client coming back gets what it missed. Bounded three ways: messages per topic, age, and
// bytes of all topics together; and the number of topics remembered. Whatever leaves the window
// is remembered only as the newest id lost (per topic, or `floor` for forgotten topics), which
// is what tells a returning client that it missed something it can no longer get (a gap).
import { compareIds, maxId, IdClock, type ReplayResult, type ResumeOptions } from './resume'
import { integerIn, numberIn } from '../engine/option-checks'

interface Entry {
  window: TopicWindow
  id: string
  ms: number
  data: Buffer
  binary: boolean
  /** false once trimmed from its topic: the global queue skips it */
  held: boolean
}

interface TopicWindow {
  entries: Entry[]
  head: number
  /** newest id of the topic */
  last: string
  /** newest id no longer held: a client older than this missed something */
  lost: string
}

export interface ResolvedResume {
  topics: (topic: string) => boolean
  maxMessages: number
  maxAge: number
  maxBytes: number
  maxTopics: number
  maxResumeTopics: number
}

const ALL = (): boolean => true

export function resolveResume (name: string, o: ResumeOptions): ResolvedResume {
  if (o.topics !== undefined && typeof o.topics !== 'function') throw new TypeError(`${name}.resume.topics must be a function`)
  return {
    topics: o.topics ?? ALL,
    maxMessages: integerIn(`${name}.resume.maxMessages`, o.maxMessages, 1, Number.MAX_SAFE_INTEGER, 1000),
    maxAge: numberIn(`${name}.resume.maxAge`, o.maxAge, 1, Infinity, 300_000),
    maxBytes: integerIn(`${name}.resume.maxBytes`, o.maxBytes, 0, Number.MAX_SAFE_INTEGER, 32 * 1024 * 1024),
    maxTopics: integerIn(`${name}.resume.maxTopics`, o.maxTopics, 1, Number.MAX_SAFE_INTEGER, 10_000),
    maxResumeTopics: integerIn(`${name}.resume.maxResumeTopics`, o.maxResumeTopics, 0, 10_000, 100)
  }
}

export class ReplayWindow {
  readonly clock = new IdClock()
  private readonly o: ResolvedResume
  /** Map order: least recently published first */
  private readonly windows = new Map<string, TopicWindow>()
  /** every held entry in publish order (trimmed ones stay until compacted) */
  private queue: Entry[] = []
  private queueHead = 0
  private trimmed = 0
  private bytes = 0
  /** a topic not remembered lost everything up to here (the start, then forgotten topics' last ids) */
  private floor: string

  constructor (options: ResolvedResume) {
    this.o = options
    this.floor = this.clock.start
  }

  /** Bytes held now. */
  get heldBytes (): number { return this.bytes }

  /** Give a message of `topic` its id and hold it. */
  add (topic: string, data: Buffer, binary: boolean, now = Date.now()): string {
    const id = this.clock.next(now)
    let w = this.windows.get(topic)
    if (w === undefined) {
      w = { entries: [], head: 0, last: this.floor, lost: this.floor }
      if (this.windows.size >= this.o.maxTopics) this.forgetOldest()
    } else {
      this.windows.delete(topic)
    }
    this.windows.set(topic, w)
    w.last = id
    const entry: Entry = { window: w, id, ms: now, data, binary, held: true }
    w.entries.push(entry)
    this.queue.push(entry)
    this.bytes += data.length
    if (w.entries.length - w.head > this.o.maxMessages) this.trimHead(w)
    this.expire(now)
    return id
  }

  /** What is held of `topic` after `after` (null: nothing wanted, just the newest id). */
  replay (topic: string, after: string | null, now = Date.now()): ReplayResult {
    this.expire(now)
    const w = this.windows.get(topic)
    const last = w?.last ?? this.floor
    if (after === null) return { last, gap: null, messages: [] }
    // an id newer than any given here (another process's clock, or made up): start over from now
    if (compareIds(after, this.clock.last) > 0) return { last, gap: last, messages: [] }
    const lost = w?.lost ?? this.floor
    const gap = compareIds(after, lost) < 0 ? lost : null
    const messages: Array<{ id: string, data: Buffer, binary: boolean }> = []
    if (w !== undefined) {
      const from = gap ?? after
      for (let i = w.head; i < w.entries.length; i++) {
        const e = w.entries[i]
        if (compareIds(e.id, from) > 0) messages.push({ id: e.id, data: e.data, binary: e.binary })
      }
    }
    return { last, gap, messages }
  }

  clear (): void {
    this.windows.clear()
    this.queue = []
    this.queueHead = 0
    this.bytes = 0
    this.trimmed = 0
  }

  /** Trim what is too old or over the byte bound, oldest first, across every topic. */
  private expire (now: number): void {
    const oldest = now - this.o.maxAge
    while (this.queueHead < this.queue.length) {
      const e = this.queue[this.queueHead]
      if (e.held && e.ms >= oldest && this.bytes <= this.o.maxBytes) break
      this.queueHead++
      if (e.held) this.trimHead(e.window)
      this.trimmed-- // (trimHead counted it; it has left the queue now)
    }
    // a queue mostly of trimmed entries (a busy topic over maxMessages) is compacted, so it
    // stays within twice what is held
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead)
      this.queueHead = 0
    }
    if (this.trimmed > 1024 && this.trimmed * 2 > this.queue.length - this.queueHead) {
      this.queue = this.queue.slice(this.queueHead).filter(e => e.held)
      this.queueHead = 0
      this.trimmed = 0
    }
  }

  /** Drop the topic's oldest held message; what the topic remembers of it is its id. */
  private trimHead (w: TopicWindow): void {
    const e = w.entries[w.head]
    w.entries[w.head++] = undefined as unknown as Entry
    e.held = false
    this.trimmed++
    this.bytes -= e.data.length
    w.lost = maxId(w.lost, e.id)
    if (w.head > 64 && w.head * 2 > w.entries.length) {
      w.entries = w.entries.slice(w.head)
      w.head = 0
    }
  }

  /** Forget the least recently published topic: its last id becomes part of the floor. */
  private forgetOldest (): void {
    const [topic, w] = this.windows.entries().next().value as [string, TopicWindow]
    this.windows.delete(topic)
    while (w.head < w.entries.length) this.trimHead(w)
    this.floor = maxId(this.floor, w.last)
  }
}
