// Shared by the frame-level adversarial tests (test/adversarial/): the server under attack in a
// process of its own (fixtures/target-server.js, Fastify + the plugin from dist/), its memory as
// the kernel reports it (/proc/<pid>/status), a legitimate client that must still be served, and
// a raw attacker socket that does not read unless told to.
import { readFileSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import path from 'node:path'
import WS from 'ws'
import { forkPeer, type PeerProcess } from './peer-process'
import { completeFrameLength, handshakeRequest, within, type Teardown } from './raw-client'
import { decodeFrames, type DecodedFrame } from './frames'

export const MiB = 1024 * 1024
export const HEAVY = process.env.WS_HEAVY === '1'
/** issue 10: under each attack, with default options, a server stays within +100 MB of its idle RSS */
export const RSS_BOUND = 100 * MiB

/** A field of /proc/<pid>/status in bytes: VmRSS (now) or VmHWM (the peak since the last reset). */
export function procMemory (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(m[1]) * 1024
}

/**
 * The peak RSS of `pid` over an attack: VmHWM after a reset (writing 5 to clear_refs, Linux 4.0+),
 * so that no sample can miss a short peak; where the reset is refused, sampled every 20 ms.
 */
export function watchRss (pid: number): { idle: number, stop (): { idle: number, peak: number, grown: number } } {
  const idle = procMemory(pid, 'VmRSS')
  let exact = true
  try { writeFileSync(`/proc/${pid}/clear_refs`, '5') } catch { exact = false }
  let sampled = idle
  const timer = exact ? null : setInterval(() => { sampled = Math.max(sampled, procMemory(pid, 'VmRSS')) }, 20)
  return {
    idle,
    stop () {
      if (timer !== null) clearInterval(timer)
      const peak = Math.max(exact ? procMemory(pid, 'VmHWM') : sampled, procMemory(pid, 'VmRSS'))
      return { idle, peak, grown: peak - idle }
    }
  }
}

export function mb (bytes: number): string {
  return (bytes / MiB).toFixed(1)
}

export interface TargetStats {
  rss: number
  sockets: number
  fds: number
  errors: Record<string, number>
  closes: Record<string, number>
  opened: number
}

export interface Target {
  port: number
  pid: number
  peer: PeerProcess
  /** one IPC request at a time (the fixture answers in order) */
  ask<T> (msg: object, ms?: number): Promise<T>
  stats (): Promise<TargetStats>
}

/** Start fixtures/target-server.js with these plugin options; it is killed in `t`'s teardown. */
export async function startTarget (t: Teardown, options: object = {}, execArgv: string[] = []): Promise<Target> {
  const peer = forkPeer(path.join(__dirname, '..', 'adversarial', 'fixtures', 'target-server.js'), { options }, execArgv)
  t.teardown(() => peer.stop())
  const { port, pid } = await peer.next<{ port: number, pid: number }>(15_000)
  let queue: Promise<unknown> = Promise.resolve()
  const ask = <T>(msg: object, ms = 30_000): Promise<T> => {
    const answer = queue.then(() => {
      peer.child.send(msg)
      return peer.next<T>(ms)
    })
    queue = answer.catch(() => {})
    return answer
  }
  return { port, pid, peer, ask, stats: () => ask<TargetStats>({ cmd: 'stats' }) }
}

/** Ask for the server's stats until `ok` holds (a wait with a deadline, not a timing assertion). */
export async function statsWhen (target: Target, ok: (s: TargetStats) => boolean, ms = 20_000): Promise<TargetStats> {
  const deadline = Date.now() + ms
  for (;;) {
    const stats = await target.stats()
    if (ok(stats) || Date.now() > deadline) return stats
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** A legitimate client (ws, another implementation): open, send `text`, resolve with the echo. */
export async function legitEcho (port: number, text: string, route = '/', ms = 30_000): Promise<string> {
  const client = new WS(`ws://127.0.0.1:${port}${route}`)
  try {
    return await within(new Promise<string>((resolve, reject) => {
      client.on('message', (data: Buffer, isBinary: boolean) => { if (!isBinary && data.toString() === text) resolve(text) })
      client.once('open', () => client.send(text))
      client.once('error', reject)
      client.once('close', code => reject(new Error(`legit client closed ${code} before its echo`)))
    }), ms, `an echo of ${JSON.stringify(text)}`)
  } finally {
    client.terminate()
  }
}

/** What an attacker socket read from the server after the 101. */
export interface AttackSocket {
  socket: Socket
  /** bytes read after the 101 head (only while reading) */
  received (): Buffer
  /** start reading (a socket opened with `read` false stops after the 101) */
  read (): void
  /**
   * write `data` unless the connection is gone; resolves false once it is (never throws), or
   * when the peer has taken nothing for `stallMs` (when given): it stopped reading
   */
  write (data: Buffer, stallMs?: number): Promise<boolean>
  /** resolves once the socket is closed */
  closed: Promise<void>
  isClosed (): boolean
}

/**
 * Open a WebSocket with a raw socket and stop reading right after the 101 (`read` false): a
 * peer that never reads. `read` true keeps every byte the server sends in `received()`.
 */
export async function attackSocket (t: Teardown, port: number, opts: { route?: string, headers?: Record<string, string>, read?: boolean } = {}): Promise<AttackSocket> {
  const socket = connect({ port, host: '127.0.0.1' })
  t.teardown(() => socket.destroy())
  socket.on('error', () => {}) // resets and EPIPE are what an attack ends in; 'close' tells
  let isClosed = false
  const closed = once(socket, 'close').then(() => { isClosed = true })
  await once(socket, 'connect')
  socket.write(handshakeRequest({ path: opts.route ?? '/', headers: opts.headers }))
  // what was read, in one buffer grown by doubling: received() is a view, never a fresh copy
  let got = Buffer.alloc(64 * 1024)
  let length = 0
  const keep = (chunk: Buffer): void => {
    if (length + chunk.length > got.length) {
      const bigger = Buffer.alloc(Math.max(got.length * 2, length + chunk.length))
      got.copy(bigger, 0, 0, length)
      got = bigger
    }
    chunk.copy(got, length)
    length += chunk.length
  }
  await within(new Promise<void>((resolve, reject) => {
    let head = Buffer.alloc(0)
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const status = head.subarray(0, end).toString('latin1').split('\r\n')[0]
      if (!status.startsWith('HTTP/1.1 101')) return reject(new Error(`expected 101, got ${status}`))
      socket.removeListener('data', onHead)
      keep(head.subarray(end + 4))
      if (opts.read === true) socket.on('data', keep)
      else socket.pause()
      resolve()
    }
    socket.on('data', onHead)
    closed.then(() => reject(new Error('closed before the 101')), () => {})
  }), 10_000, 'the 101')
  return {
    socket,
    received: () => got.subarray(0, length),
    read () {
      if (socket.listeners('data').includes(keep)) return
      socket.on('data', keep)
      socket.resume()
    },
    closed,
    isClosed: () => isClosed,
    async write (data, stallMs = 0) {
      if (isClosed || socket.destroyed || !socket.writable) return false
      if (socket.write(data)) return true
      let timer: NodeJS.Timeout | undefined
      const stalled = new Promise<boolean>(resolve => { if (stallMs > 0) timer = setTimeout(resolve, stallMs, false) })
      const drained = await Promise.race([once(socket, 'drain').then(() => true), closed.then(() => false), stalled])
      clearTimeout(timer)
      return drained && !isClosed
    }
  }
}

/** The complete frames at the start of `bytes` (a frame cut off at the end is left out). */
export function framesIn (bytes: Buffer): DecodedFrame[] {
  const out: DecodedFrame[] = []
  let rest = bytes
  for (let n = completeFrameLength(rest); n !== -1; n = completeFrameLength(rest)) {
    out.push(decodeFrames(rest.subarray(0, n))[0])
    rest = rest.subarray(n)
  }
  return out
}

/** How many complete frames are at the start of `bytes` (headers only are read). */
export function frameCount (bytes: Buffer): number {
  let n = 0
  for (let at = 0, len = completeFrameLength(bytes); len !== -1; len = completeFrameLength(bytes.subarray(at))) {
    at += len
    n++
  }
  return n
}

/** The code of the first close frame in server bytes, 1005 for one without a code, null if none is there. */
export function closeCodeIn (bytes: Buffer): number | null {
  const close = framesIn(bytes).find(f => f.opcode === 0x8)
  if (close === undefined) return null
  return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005
}
