// Adversarial tests put the server in a process of its own, so that what an attack does to it
// (an uncaught exception, memory, file descriptors) is seen from outside, as an operator would:
//
//   const server = await spawnServer(t, ECHO_SERVER)          // or FIXTURE_SERVER, with args
//   const idle = server.rss()                                 // VmRSS from /proc, bytes
//   ... attack 127.0.0.1:server.port ...
//   t.ok(server.alive(), 'the process survives')
//   t.ok(await echoes(server.port), 'a legitimate client still gets an echo')
//   t.ok(server.rss() < idle + RSS_BUDGET, 'memory within the budget')
//
// spawnServer runs a .ts script of this repository as JavaScript transpiled from the source
// under test (no build needed, and no TypeScript loader in the server's memory: ts-node alone
// adds ~170 MB of RSS, which would hide what an attack costs), or a .js script as is. The script
// prints `listening on <url>:<port>`. Every wait is bounded; the child is killed in t.teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'
import WS from 'ws'
import type { Teardown } from './raw-client'

/** `npm run echo`'s server, with its production timeouts (prints its port with `--port 0`). */
export const ECHO_SERVER = join(__dirname, '..', '..', 'lib', 'bin', 'echo.ts')
/** A configurable app on the plugin (see adversary-server.ts for its routes and --config). */
export const FIXTURE_SERVER = join(__dirname, 'adversary-server.ts')
/** What an attack may add to the server's idle RSS (issue 10: "+100 MB of idle"). */
export const RSS_BUDGET = 100 * 1024 * 1024

export interface ServerProcess {
  pid: number
  port: number
  /** resident set size now, in bytes (VmRSS of /proc/<pid>/status); 0 once the process is gone */
  rss (): number
  /** the largest rss() seen by sampleRss() since the last reset (bytes) */
  peakRss (): number
  /** sample rss() every `ms` until stop() is called, so that a short peak is not missed */
  sampleRss (ms?: number): { stop (): number }
  alive (): boolean
  /** everything the process printed so far, stdout and stderr interleaved */
  output (): string
  /** the output's JSON lines (pino logs), parsed */
  logs (): Array<Record<string, unknown> & { level?: number, msg?: string }>
  child: ChildProcess
}

export interface SpawnOptions {
  args?: string[]
  env?: Record<string, string>
  /** ms to wait for the `listening on` line (default 30000: a busy machine is slow) */
  readyTimeout?: number
}

const ROOT = join(__dirname, '..', '..')
let outDir: string | null = null

function listTs (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? listTs(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [])
}

/**
 * The JavaScript of `script` (a .ts file of this repository), transpiled with lib/ into a
 * directory under node_modules/.cache (so that packages resolve), once per test process.
 */
function compiled (script: string): string {
  if (outDir === null) {
    const dir = join(ROOT, 'node_modules', '.cache', 'fastify-rfc6455-adversary', String(process.pid))
    const sources = [...listTs(join(ROOT, 'lib')), join(__dirname, 'adversary-server.ts')]
    for (const file of sources) {
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }
      })
      const out = join(dir, relative(ROOT, file)).replace(/\.ts$/, '.js')
      mkdirSync(dirname(out), { recursive: true })
      writeFileSync(out, outputText)
    }
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    outDir = dir
  }
  return join(outDir, relative(ROOT, script)).replace(/\.ts$/, '.js')
}

/** Read VmRSS of `pid` in bytes (0 if the process is gone). */
export function readRss (pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}

export async function spawnServer (t: Teardown, script: string, options: SpawnOptions = {}): Promise<ServerProcess> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env }
  // tap's coverage hook would sit in the server's memory and time: the server runs bare
  delete env.NODE_OPTIONS
  const file = script.endsWith('.ts') ? compiled(script) : script
  const child = spawn(process.execPath, [file, ...(options.args ?? [])], {
    env, stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no "listening on" line within ${options.readyTimeout ?? 30_000} ms:\n${out}`)),
      options.readyTimeout ?? 30_000)
    const onData = (): void => {
      const m = /listening on \S*:(\d+)/.exec(out)
      if (m !== null) { cleanup(); resolve(Number(m[1])) }
    }
    const onExit = (code: number | null): void => fail(new Error(`server exited (${code}) before listening:\n${out}`))
    const cleanup = (): void => {
      clearTimeout(timer)
      child.stdout.removeListener('data', onData)
      child.removeListener('exit', onExit)
    }
    const fail = (err: Error): void => { cleanup(); reject(err) }
    child.stdout.on('data', onData)
    child.once('exit', onExit)
  })
  const pid = child.pid as number
  let peak = 0
  const rss = (): number => {
    const now = readRss(pid)
    if (now > peak) peak = now
    return now
  }
  return {
    pid,
    port,
    child,
    rss,
    peakRss: () => peak,
    sampleRss (ms = 100) {
      peak = rss()
      const timer = setInterval(rss, ms)
      return { stop () { clearInterval(timer); rss(); return peak } }
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => out,
    logs: () => out.split('\n').filter(l => l.startsWith('{')).flatMap(l => {
      try { return [JSON.parse(l) as Record<string, unknown>] } catch { return [] }
    })
  }
}

/**
 * A legitimate client: open a WebSocket on `path`, send one message, resolve true once the same
 * text comes back, false on any failure or after `ms`.
 */
export function echoes (port: number, path = '/', ms = 10_000): Promise<boolean> {
  return new Promise(resolve => {
    const text = `hello ${Math.random()}`
    const client = new WS(`ws://127.0.0.1:${port}${path}`)
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      client.removeAllListeners()
      client.on('error', () => {})
      client.terminate()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), ms)
    client.on('open', () => client.send(text))
    client.on('message', (data: Buffer) => done(data.toString() === text))
    client.on('error', () => done(false))
    client.on('close', () => done(false))
  })
}

/** `n` MiB, for messages about RSS. */
export function mib (bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

/** Resolve with `check()`'s first value other than undefined, polling every 50 ms; reject after `ms`. */
export function until<T> (what: string, check: () => T | undefined, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms
    const poll = (): void => {
      let value: T | undefined
      try {
        value = check()
      } catch (err) {
        reject(err)
        return
      }
      if (value !== undefined) resolve(value)
      else if (Date.now() > deadline) reject(new Error(`no ${what} within ${ms} ms`))
      else setTimeout(poll, 50)
    }
    poll()
  })
}
