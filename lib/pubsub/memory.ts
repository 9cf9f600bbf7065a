// The default pub/sub adapter: one process, messages delivered straight back. With `resume`, the
// topics it covers are resumable: each message gets an id from the clock and is held in a
// bounded replay window (replay-window.ts) for clients that come back.
import type { PubSubAdapter, DeliverFunction, PublishedMessage } from './adapter'
import { ReplayWindow, resolveResume } from './replay-window'
import type { ReplayResult, ResumeOptions } from './resume'

export interface MemoryAdapterOptions {
  /** make topics resumable (see README "Resumable topics"); `true` for every topic with the defaults */
  resume?: boolean | ResumeOptions
}

export class MemoryAdapter implements PubSubAdapter {
  private deliver: DeliverFunction | null = null
  private readonly window: ReplayWindow | null
  private readonly isResumable: ((topic: string) => boolean) | null
  readonly maxResumeTopics: number | undefined

  constructor (options: MemoryAdapterOptions = {}) {
    const resume = options.resume === true ? {} : options.resume
    if (resume === undefined || resume === false) {
      this.window = null
      this.isResumable = null
    } else {
      const resolved = resolveResume('memoryAdapter', resume)
      this.window = new ReplayWindow(resolved)
      this.isResumable = resolved.topics
      this.maxResumeTopics = resolved.maxResumeTopics
    }
  }

  start (deliver: DeliverFunction): void {
    this.deliver = deliver
  }

  publish (message: PublishedMessage): void {
    if (this.deliver === null) return
    if (this.window !== null && this.isResumable!(message.topic)) {
      this.deliver({ ...message, id: this.window.add(message.topic, message.data, message.binary) })
    } else {
      this.deliver(message)
    }
  }

  resumable (topic: string): boolean {
    return this.isResumable?.(topic) ?? false
  }

  replay (topic: string, after: string | null): ReplayResult {
    return this.window!.replay(topic, after)
  }

  /** Bytes held by the replay window (0 without resume). */
  get heldBytes (): number {
    return this.window?.heldBytes ?? 0
  }

  close (): void {
    this.deliver = null
    this.window?.clear()
  }
}

export function memoryAdapter (options?: MemoryAdapterOptions): MemoryAdapter {
  return new MemoryAdapter(options)
}
