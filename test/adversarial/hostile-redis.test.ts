// A hostile Redis (test/adversarial/fixtures/hostile-redis.js, in its own process, over TCP on
// 127.0.0.1) against an app on redisAdapter in this process, with default limits. Each attack
// starts once the adapter is up and subscribed. For each: this process survives, the right error
// code is logged, its RSS stays within RSS_BOUND of what it was before the attack, the reconnect
// backoff grows (as the adapter computes and logs it, not as a clock measures it), and a
// WebSocket client is still answered. Quick by default; WS_HEAVY=1 streams more and longer.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import Fastify from 'fastify'
import WS from 'ws'
import websocket, { redisAdapter, type RedisAdapterLogger } from '../../lib/index'
import { waitFor } from '../helpers/redis'

const HEAVY = process.env.WS_HEAVY === '1'
const MiB = 1024 * 1024
/** the most this process's RSS may grow under an attack */
const RSS_BOUND = 100 * MiB

type Report = Record<string, unknown> & { event: string }

interface Hostile {
  events: Report[]
  count (event: string): number
}

async function startHostile (t: Test, mode: string, bytes = 0): Promise<Hostile & { url: string }> {
  const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'hostile-redis.js'), mode, String(bytes)],
    { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const events: Report[] = []
  createInterface({ input: child.stdout! }).on('line', line => events.push(JSON.parse(line) as Report))
  await waitFor(() => events.some(e => e.event === 'listening'), 'the hostile server listening', 30_000)
  const port = events[0].port as number
  return { url: `redis://127.0.0.1:${port}`, events, count: event => events.filter(e => e.event === event).length }
}

interface LogEntry { level: string, obj: Record<string, unknown>, msg: string }

/** Samples this process's RSS until stopped; resolves with the largest growth over `base`. */
function rssWatch (): { base: number, stop (): number } {
  const base = process.memoryUsage.rss()
  let peak = base
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 10)
  return {
    base,
    stop () {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage.rss()) - base
    }
  }
}

interface Setup {
  log: LogEntry[]
  client: WS
  received: string[]
  /** an echo from the app: it still serves its clients */
  echo (text: string): Promise<string>
}

/** An app on redisAdapter (default limits) whose route subscribes each client to 'room' and echoes. */
async function startApp (t: Test, url: string): Promise<Setup> {
  const log: LogEntry[] = []
  const add = (level: string) => (obj: object, msg: string) => { log.push({ level, obj: obj as Record<string, unknown>, msg }) }
  const logger: RedisAdapterLogger = { info: add('info'), warn: add('warn'), error: add('error') }
  const app = Fastify()
  await app.register(websocket, { pubsub: redisAdapter({ url, logger }) })
  app.get('/room', {
    websocket: {
      open (socket) { socket.subscribe('room') },
      message (socket, data) { socket.send(data.toString()) }
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const client = new WS(`ws://127.0.0.1:${port}/room`)
  t.teardown(() => client.terminate())
  const received: string[] = []
  let waiting: ((text: string) => void) | null = null
  client.on('message', (data: Buffer) => {
    const text = data.toString()
    if (waiting !== null && text.startsWith('echo ')) {
      const resolve = waiting
      waiting = null
      resolve(text)
    } else {
      received.push(text)
    }
  })
  await once(client, 'open')
  return {
    log,
    client,
    received,
    echo (text) {
      const reply = new Promise<string>(resolve => { waiting = resolve })
      client.send(`echo ${text}`)
      return reply
    }
  }
}

/** The subscriber's reconnect log entries, in order. */
function reconnects (log: LogEntry[]): LogEntry[] {
  return log.filter(e => e.obj.role === 'subscriber' && /reconnecting|retrying/.test(e.msg))
}

/** Attempts count up from 1; each backoff doubles from 100 ms up to the 5 s cap; delays are jittered within it. */
function checkBackoff (t: Test, entries: LogEntry[]): void {
  const attempts = entries.map(e => e.obj.attempt)
  const backoffs = entries.map(e => e.obj.backoff as number)
  t.same(attempts, entries.map((_, i) => i + 1), `attempts ${attempts.join(', ')}: never reset by a connection that answered PING`)
  t.same(backoffs, entries.map((_, i) => Math.min(5000, 100 * 2 ** i)), `backoff ${backoffs.join(', ')} ms`)
  t.ok(entries.every(e => (e.obj.delay as number) >= (e.obj.backoff as number) / 2 && (e.obj.delay as number) <= (e.obj.backoff as number)),
    'each delay is the backoff less at most half of it (jitter)')
}

async function survives (t: Test, app: Setup, rss: { stop (): number }, label: string): Promise<void> {
  t.equal(await app.echo('still served'), 'echo still served', 'a WebSocket client is still answered')
  const grown = rss.stop()
  t.ok(grown < RSS_BOUND, `${label}: RSS grew ${(grown / MiB).toFixed(1)} MB (bound ${RSS_BOUND / MiB} MB)`)
}

for (const mode of ['nested', 'flat']) {
  t.test(`a Redis streaming ${mode} arrays of empty arrays after PING is cut off at maxReplyElements, and retried ever more slowly`, async t => {
    const hostile = await startHostile(t, mode)
    const rss = rssWatch()
    const app = await startApp(t, hostile.url)
    const attempts = HEAVY ? 8 : 4
    await waitFor(() => reconnects(app.log).length >= attempts, `${attempts} reconnects`, 30_000)
    const entries = reconnects(app.log).slice(0, attempts)
    t.ok(entries.every(e => (e.obj.err as { code?: string }).code === 'WS_ERR_REDIS_REPLY_LIMIT'), 'each cut-off is WS_ERR_REDIS_REPLY_LIMIT')
    checkBackoff(t, entries)
    const sent = hostile.events.filter(e => e.event === 'sent').map(e => e.bytes as number)
    t.comment(`the server wrote ${sent.map(b => (b / MiB).toFixed(1)).join(', ')} MiB before each cut-off (kernel buffers included)`)
    await survives(t, app, rss, `${mode} arrays`)
  })
}

t.test('a Redis streaming whole replies of 1024 empty arrays costs time, not memory, and the next message is delivered', async t => {
  const bytes = (HEAVY ? 256 : 16) * MiB
  const hostile = await startHostile(t, 'replies', bytes)
  const rss = rssWatch()
  const app = await startApp(t, hostile.url)
  await waitFor(() => app.received.includes('after the replies'), 'the message after the replies', 60_000)
  t.equal(reconnects(app.log).length, 0, 'replies within the limits are no failure')
  t.equal(hostile.count('connection'), 2, 'the same two connections all along')
  await survives(t, app, rss, `${bytes / MiB} MiB of replies of 1024 empty arrays`)
})

t.test('a 512 MiB message from Redis is skipped as it streams, logged, and the next message is delivered', async t => {
  const size = (HEAVY ? 2048 : 512) * MiB
  const hostile = await startHostile(t, 'bulk', size)
  const rss = rssWatch()
  const app = await startApp(t, hostile.url)
  await waitFor(() => app.received.includes('after the bulk'), 'the message after the bulk', 60_000)
  t.match(app.log.find(e => /larger than maxMessageBytes skipped/.test(e.msg)),
    { level: 'warn', obj: { err: { code: 'WS_ERR_REDIS_MESSAGE_TOO_BIG', message: new RegExp(`${size} bytes`) }, maxMessageBytes: 16 * MiB + 514 } })
  t.equal(reconnects(app.log).length, 0, 'the connection stays up')
  t.equal(hostile.count('connection'), 2, 'the same two connections all along')
  await survives(t, app, rss, `${size / MiB} MiB bulk string`)
})

t.test('a Redis answering garbage after PING is retried with growing backoff, never every 100 ms', async t => {
  const hostile = await startHostile(t, 'garbage')
  const rss = rssWatch()
  const app = await startApp(t, hostile.url)
  const attempts = HEAVY ? 9 : 6
  await waitFor(() => reconnects(app.log).length >= attempts, `${attempts} reconnects`, 60_000)
  const entries = reconnects(app.log).slice(0, attempts)
  t.ok(entries.every(e => (e.obj.err as { code?: string }).code === 'WS_ERR_REDIS_PROTOCOL'), 'each failure is WS_ERR_REDIS_PROTOCOL')
  checkBackoff(t, entries)
  // the server counts what it saw: the publisher once, the subscriber once per attempt so far
  t.ok(hostile.count('connection') <= attempts + 3, `${hostile.count('connection')} connections seen by the server for ${attempts} reconnects`)
  await survives(t, app, rss, 'garbage')
})
