// The default pub/sub adapter: one process, messages delivered straight back.
import type { PubSubAdapter, DeliverFunction, PublishedMessage } from './adapter'

export class MemoryAdapter implements PubSubAdapter {
  private deliver: DeliverFunction | null = null

  start (deliver: DeliverFunction): void {
    this.deliver = deliver
  }

  publish (message: PublishedMessage): void {
    this.deliver?.(message)
  }

  close (): void {
    this.deliver = null
  }
}

export function memoryAdapter (): PubSubAdapter {
  return new MemoryAdapter()
}
