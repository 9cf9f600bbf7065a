// The chat demo as users run it (`node example-app/server.js`), in a process of its own: started
// on a port (0 for any), its address read from what it prints, its output kept (JSON logs with
// NODE_ENV=production), stopped by a signal and started again on the same port and environment.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import WS from 'ws'
import { nextChatEvent } from './chat-frames'

export const DEMO_SERVER = path.join(__dirname, '..', '..', 'example-app', 'server.js')

export interface DemoProcess {
  readonly child: ChildProcess
  /** http://127.0.0.1:<port> */
  readonly base: string
  readonly port: number
  /** everything it wrote to stdout and stderr */
  output (): string
  /** the JSON log lines among its output */
  logs (): Array<Record<string, unknown>>
  /** send `signal` and wait for the exit; resolves to the exit code (null after a signal kill) */
  stop (signal?: NodeJS.Signals): Promise<number | null>
}

/** Start the demo with `env` added to this process's environment; rejects if it exits or prints no address within 20 s. */
export async function startDemo (env: Record<string, string>, port = 0): Promise<DemoProcess> {
  const child = spawn(process.execPath, [DEMO_SERVER], {
    env: { ...process.env, HOST: '127.0.0.1', NODE_ENV: 'production', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the demo printed no address:\n${out}`))
    }, 20_000)
    child.stdout.on('data', () => {
      const m = /chat demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)
      if (m === null) return
      clearTimeout(timer)
      resolve(m[1])
    })
    exited.then(code => {
      clearTimeout(timer)
      reject(new Error(`the demo exited (${String(code)}):\n${out}`))
    }, () => {})
  })
  return {
    child,
    base,
    port: Number(new URL(base).port),
    output: () => out,
    logs: () => out.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>),
    async stop (signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return await exited
    }
  }
}

/** Run the demo to its exit (for a start that must fail); resolves to its exit code and output. */
export function runDemoToExit (env: Record<string, string>): Promise<{ code: number | null, output: string }> {
  const child = spawn(process.execPath, [DEMO_SERVER], {
    env: { ...process.env, HOST: '127.0.0.1', NODE_ENV: 'production', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  return new Promise(resolve => child.once('exit', code => {
    clearTimeout(timer)
    resolve({ code, output: out })
  }))
}

/** A token from POST /login for `nickname`. */
export async function demoLogin (base: string, nickname: string): Promise<string> {
  const res = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nickname }) })
  if (res.status !== 200) throw new Error(`login ${nickname}: HTTP ${res.status}`)
  return ((await res.json()) as { token: string }).token
}

/**
 * One handshake on /chat/<room> with `token`, as a non-browser client: the welcome it got (the
 * socket then closed), or the status and JSON body of the refusal.
 */
export function demoHandshake (base: string, token: string, room = 'lobby'): Promise<{ welcome: Record<string, unknown> } | { status: number, body: Record<string, unknown> | null }> {
  return new Promise((resolve, reject) => {
    const client = new WS(`${base.replace('http', 'ws')}/chat/${room}`, ['chat.v1', `token.${token}`], { origin: base })
    client.on('error', reject)
    nextChatEvent(client).then(welcome => { // the room's resume header (s) comes first
      client.close()
      resolve({ welcome })
    }, reject)
    client.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body === '' ? null : JSON.parse(body) as Record<string, unknown> }))
    })
  })
}
