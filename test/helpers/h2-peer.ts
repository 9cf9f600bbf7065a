// Drives test/http2/fixtures/h2-peer.js, a WebSocket-over-HTTP/2 client in another process: commands go
// over IPC, and reports are kept so that a test waits for the one it needs (streams of one
// session report interleaved).
import type { Test } from 'tap'
import { join } from 'node:path'
import { forkPeer, type PeerProcess } from './peer-process'

export const PEER = join(__dirname, '..', 'http2', 'fixtures', 'h2-peer.js')

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
  // each report goes to the first waiter it matches, checked once as it arrives (a thousand
  // waiters must not rescan every report at every arrival)
  const waiters: Array<{ match: (r: Report) => boolean, done: (r: Report) => void }> = []
  proc.child.on('message', m => {
    const r = m as Report
    reports.push(r)
    const i = waiters.findIndex(w => w.match(r))
    if (i === -1) return
    const [w] = waiters.splice(i, 1)
    taken.add(r)
    w.done(r)
  })
  const peer: H2Peer = {
    process: proc,
    reports,
    command (cmd) { proc.child.send(cmd) },
    take (match, what, ms = 5000) {
      const found = reports.find(r => !taken.has(r) && match(r))
      if (found !== undefined) {
        taken.add(found)
        return Promise.resolve(found)
      }
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          done (r: Report) {
            clearTimeout(timer)
            resolve(r)
          }
        }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`no ${what} from the HTTP/2 peer in ${ms} ms; last reports: ${JSON.stringify(reports.slice(-10), (k, v) => k === 'data' || k === 'body' ? `${String(v).length} chars` : v)}\n${proc.output()}`))
        }, ms)
        waiters.push(waiter)
      })
    },
    open (id, path, options = {}) {
      proc.child.send({ op: 'open', id, path, ...options })
      // a stream reset before any response (Node's own session limits) reports 'stream-error'
      return peer.take(r => r.id === id && (r.ev === 'response' || r.ev === 'refused' || r.ev === 'stream-error'), `response on stream ${id}`)
    },
    send (id, data) { proc.child.send({ op: 'send', id, data, binary: false }) },
    async message (id, ms) {
      const r = await peer.take(r => r.id === id && r.ev === 'message', `message on stream ${id}`, ms)
      return r.data as string
    }
  }
  return peer
}
