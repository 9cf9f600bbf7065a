// A real redis-server for tests: started on a free 127.0.0.1 port with a password, killed at the
// end of the test. CI installs it (apt-get install redis-server); elsewhere, tests without it skip.
import type { Test } from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, connect as netConnect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { encodeCommand, RespParser, type RespValue } from '../../lib/pubsub/resp'

export const PASSWORD = 's3cret'

export async function waitFor (check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** One command on a fresh authenticated connection; resolves with its reply. */
export async function redisCommand (port: number, args: Array<string | Buffer>): Promise<RespValue> {
  const socket = netConnect({ host: '127.0.0.1', port })
  const replies: RespValue[] = []
  const parser = new RespParser(value => replies.push(value))
  socket.on('data', chunk => parser.feed(chunk))
  socket.on('error', () => {})
  socket.write(Buffer.concat([encodeCommand(['AUTH', PASSWORD]), encodeCommand(args)]))
  try {
    await waitFor(() => replies.length >= 2 || socket.destroyed, `a reply to ${String(args[0])}`, 2000)
  } finally {
    socket.destroy()
  }
  if (replies.length < 2) throw new Error('connection closed')
  return replies[1]
}

export async function subscriberCount (port: number, topic: string): Promise<number> {
  const reply = await redisCommand(port, ['PUBSUB', 'NUMSUB', `fastify-rfc6455:${topic}`]) as RespValue[]
  return reply[1] as number
}

export interface RedisServer { port: number, url: string, stop (): Promise<void>, restart (): Promise<void> }

/** `persist`: a directory for an append-only file written at every command, so a restart keeps the data. */
export async function startRedis (t: Test, options: { persist?: string } = {}): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | null = null
  const durability = options.persist === undefined
    ? ['--appendonly', 'no']
    : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.persist]
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...durability,
      '--requirepass', PASSWORD], { stdio: 'ignore' })
    await waitFor(async () => {
      try {
        return await redisCommand(port, ['PING']) === 'PONG'
      } catch {
        return false
      }
    }, `redis-server on port ${port}`)
  }
  const stop = async (): Promise<void> => {
    const running = child
    child = null
    if (running === null || running.exitCode !== null) return
    running.kill('SIGKILL')
    await once(running, 'exit')
  }
  await launch()
  t.teardown(stop)
  return { port, url: `redis://:${PASSWORD}@127.0.0.1:${port}/3`, stop, restart: launch }
}

/**
 * True (and the test reported) when redis-server is not installed: a failure under CI, which must
 * install it, a skip elsewhere.
 */
export function redisServerMissing (t: Test): boolean {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) return false
  if (process.env.CI !== undefined) t.fail('redis-server is not on PATH: CI must install it (apt-get install redis-server)')
  else t.plan(0, 'redis-server is not on PATH (apt-get install redis-server to run these tests)')
  return true
}
