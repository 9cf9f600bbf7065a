// The chat demo's room topics are resumable (README, "Resumable topics"): each message published
// to a room starts with one header line, `0x1E <kind> SP <id> SP encodeURIComponent(topic) LF`;
// a fresh subscribe gets `s` alone (before the welcome). Messages sent to one socket (welcome,
// error) carry none.
import type WS from 'ws'

export interface RoomFrame {
  /** m, g or s; null for a message without the header */
  kind: string | null
  id: string | null
  topic: string | null
  /** what follows the header (the whole message without one) */
  body: string
}

export function roomFrame (data: Buffer | string): RoomFrame {
  const text = data.toString()
  const end = text.indexOf('\n')
  if (text.charCodeAt(0) !== 0x1e || end === -1) return { kind: null, id: null, topic: null, body: text }
  const [kind, id, topic] = text.slice(1, end).split(' ')
  return { kind, id, topic: decodeURIComponent(topic), body: text.slice(end + 1) }
}

/** The chat event a message carries, or null for a header alone (g, s). */
export function chatEvent<T = Record<string, unknown>> (data: Buffer | string): T | null {
  const frame = roomFrame(data)
  return frame.kind === 'g' || frame.kind === 's' ? null : JSON.parse(frame.body) as T
}

/** per client: events received and not yet taken, and who waits for the next one */
const inboxes = new WeakMap<WS, { events: unknown[], waiting: Array<(event: unknown) => void> }>()

/**
 * The next chat event `client` receives, skipping headers alone. The first call starts
 * listening (call it before the messages arrive) and keeps what comes: a header and the
 * welcome may arrive in one read, before an awaiting caller could listen again.
 */
export function nextChatEvent<T = Record<string, unknown>> (client: WS): Promise<T> {
  let inbox = inboxes.get(client)
  if (inbox === undefined) {
    const box: { events: unknown[], waiting: Array<(event: unknown) => void> } = { events: [], waiting: [] }
    inbox = box
    inboxes.set(client, box)
    client.on('message', (data: Buffer) => {
      const event = chatEvent(data)
      if (event === null) return
      const waiter = box.waiting.shift()
      if (waiter !== undefined) waiter(event)
      else box.events.push(event)
    })
  }
  if (inbox.events.length > 0) return Promise.resolve(inbox.events.shift() as T)
  const box = inbox
  return new Promise(resolve => box.waiting.push(event => resolve(event as T)))
}
