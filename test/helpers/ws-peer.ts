// A `ws` peer in another process (test/fixtures/ws-peer.js), one command at a time: bytes between
// it and the server under test cross a real socket and two event loops.
import type { Test } from 'tap'
import { join } from 'node:path'
import { forkPeer } from './peer-process'

export interface WsPeer {
  /** send a command and wait for its answer (at most `ms`) */
  ask<T = Record<string, unknown>> (command: Record<string, unknown>, ms?: number): Promise<T>
}

export async function startWsPeer (t: Test): Promise<WsPeer> {
  const peer = forkPeer(join(__dirname, '..', 'fixtures', 'ws-peer.js'), {})
  t.teardown(() => peer.stop())
  await peer.next(10_000)
  return {
    async ask<T> (command: Record<string, unknown>, ms = 10_000): Promise<T> {
      peer.child.send(command)
      const answer = await peer.next<T & { error?: string }>(ms)
      if (answer.error !== undefined) throw new Error(`peer: ${answer.error}`)
      return answer
    }
  }
}
