// A test peer in a process of its own (child_process.fork of a small .js fixture): bytes between
// it and the test cross a real socket and two event loops, which is what reading, writing and
// ordering need to be tested against. The peer talks back over IPC; its stderr is kept (the
// last 16 KiB) to show when something fails.
import { fork, type ChildProcess } from 'node:child_process'

export interface PeerProcess {
  readonly child: ChildProcess
  /** what the peer wrote to stderr (and stdout), the last 16 KiB of it */
  output (): string
  /** the next IPC message, or a rejection when the peer exits first or `ms` pass */
  next<T> (ms: number): Promise<T>
  /** end the peer (SIGKILL: the test is done with it) and wait for it to be gone */
  stop (): Promise<void>
}

const KEEP = 16 * 1024
/**
 * tap's coverage loader, when the suite runs under it: a peer's lines count toward the coverage
 * of lib/ like the test's own (the peer loads the build, whose source maps lead back to lib/).
 * Nothing else of the test's own flags: a peer runs plain JavaScript.
 */
const COVERAGE_ARGV = process.execArgv.filter(arg => arg.includes('@tapjs/processinfo'))

/** `args`: `--name value` pairs; objects and booleans are passed as JSON. */
export function forkPeer (file: string, args: Record<string, unknown>, execArgv: string[] = []): PeerProcess {
  const argv: string[] = []
  for (const [k, v] of Object.entries(args)) argv.push(`--${k}`, typeof v === 'string' ? v : JSON.stringify(v))
  const child = fork(file, argv, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [...COVERAGE_ARGV, ...execArgv] })
  let out = ''
  const keep = (chunk: Buffer): void => {
    out += chunk.toString()
    if (out.length > KEEP) out = out.slice(-KEEP)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const inbox: unknown[] = []
  const waiting: Array<(m: unknown) => void> = []
  child.on('message', m => {
    const w = waiting.shift()
    if (w !== undefined) w(m)
    else inbox.push(m)
  })
  let exitCode: number | string | null = null
  const exited = new Promise<void>(resolve => child.once('exit', (code, signal) => {
    exitCode = code ?? signal
    resolve()
  }))
  return {
    child,
    output: () => out,
    next<T> (ms: number): Promise<T> {
      if (inbox.length > 0) return Promise.resolve(inbox.shift() as T)
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`peer ${file} sent nothing for ${ms} ms; its output:\n${out}`)), ms)
        const onMessage = (m: unknown): void => {
          clearTimeout(timer)
          resolve(m as T)
        }
        waiting.push(onMessage)
        // an exit before the message: a crash (the message, if it was sent, came first)
        exited.then(() => setImmediate(() => {
          const i = waiting.indexOf(onMessage)
          if (i === -1) return
          waiting.splice(i, 1)
          clearTimeout(timer)
          reject(new Error(`peer ${file} exited (${String(exitCode)}) before answering; its output:\n${out}`))
        }), () => {})
      })
    },
    async stop (): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  }
}
