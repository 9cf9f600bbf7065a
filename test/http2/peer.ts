// Drives fixtures/h2-peer.js, a WebSocket-over-HTTP/2 client in another process: commands go
// over IPC, and reports are kept so that a test waits for the one it needs (streams of one
// session report interleaved).
import type { Test } from 'tap'
import { join } from 'node:path'
import { forkPeer, type PeerProcess } from '../helpers/peer-process'

export const PEER = join(__dirname, 'fixtures', 'h2-peer.js')

export interface Report {
  ev: string
  id?: number
  status?: number
  headers?: Record<string, string | number>
  body?: string
  data?: string
  binary?: boolean
  code?: number
  reason?: string
  rstCode?: number
  enableConnectProtocol?: boolean
  message?: string
  writableLength?: number
}

export interface H2Peer {
  readonly process: PeerProcess
  /** every report so far */
  readonly reports: Report[]
  command (cmd: Record<string, unknown>): void
  /** the first report (not yet taken) that `match` accepts; fails after `ms` */
  take (match: (r: Report) => boolean, what: string, ms?: number): Promise<Report>
  /** open a WebSocket on stream `id`; resolves with its 'response' or 'refused' report */
  open (id: number, path: string, options?: { headers?: Record<string, string>, deflate?: boolean }): Promise<Report>
  send (id: number, data: string): void
  /** the next message on stream `id` */
  message (id: number, ms?: number): Promise<string>
}

export async function startPeer (t: Test, url: string, insecure = false): Promise<H2Peer> {
  const proc = forkPeer(PEER, insecure ? { url, insecure: '1' } : { url })
  t.teardown(() => proc.stop())
  const reports: Report[] = []
  const taken = new Set<Report>()
  const waiters: Array<() => void> = []
  proc.child.on('message', m => {
    reports.push(m as Report)
    for (const w of waiters.splice(0)) w()
  })
  const find = (match: (r: Report) => boolean): Report | undefined => reports.find(r => !taken.has(r) && match(r))
  const peer: H2Peer = {
    process: proc,
    reports,
    command (cmd) { proc.child.send(cmd) },
    take (match, what, ms = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} from the HTTP/2 peer in ${ms} ms; reports: ${JSON.stringify(reports, (k, v) => k === 'data' || k === 'body' ? `${String(v).length} chars` : v)}\n${proc.output()}`)), ms)
        const check = (): void => {
          const r = find(match)
          if (r === undefined) {
            waiters.push(check)
            return
          }
          clearTimeout(timer)
          taken.add(r)
          resolve(r)
        }
        check()
      })
    },
    open (id, path, options = {}) {
      proc.child.send({ op: 'open', id, path, ...options })
      return peer.take(r => r.id === id && (r.ev === 'response' || r.ev === 'refused'), `response on stream ${id}`)
    },
    send (id, data) { proc.child.send({ op: 'send', id, data, binary: false }) },
    async message (id, ms) {
      const r = await peer.take(r => r.id === id && r.ev === 'message', `message on stream ${id}`, ms)
      return r.data as string
    }
  }
  return peer
}
