// `npm run demo`'s entry as a real process: it prints its URL, signs tokens with SECRET, and on
// SIGTERM closes every socket with 1001 Going Away and exits 0.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createHmac } from 'node:crypto'
import path from 'node:path'
import WS from 'ws'
import { nextChatEvent } from '../helpers/chat-frames'

const SERVER = path.join(__dirname, '..', '..', 'example-app', 'server.js')

t.test('the demo server prints its URL, accepts SECRET-signed tokens and shuts down gracefully on SIGTERM', { timeout: 30_000 }, async t => {
  const secret = 'demo secret'
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SECRET: secret, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${out}`)), 15_000)
    child.stdout.on('data', () => {
      const m = /chat demo: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1]) }
    })
  })
  t.pass(`printed ${url}`)

  const page = await fetch(url)
  t.equal(page.status, 200)
  t.match(await page.text(), '<title>fastify-rfc6455 chat</title>')

  // a token made with the same SECRET elsewhere is accepted
  const payload = Buffer.from(JSON.stringify({ n: 'ops', exp: Date.now() + 60_000 })).toString('base64url')
  const token = `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`
  const client = new WS(`${url.replace('http', 'ws')}chat/lobby`, ['chat.v1', `token.${token}`], { origin: url.slice(0, -1) })
  t.match(await nextChatEvent(client), { type: 'welcome', you: 'ops' })

  const closed = once(client, 'close')
  child.kill('SIGTERM')
  const [code] = await closed as [number]
  t.equal(code, 1001, 'the client is told the server is going away')
  const [exitCode] = await once(child, 'exit') as [number]
  t.equal(exitCode, 0, 'the process exits cleanly')
  const logs = out.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as { msg: string })
  t.ok(logs.some(l => l.msg === 'shutting down'), 'the shutdown is logged as JSON (NODE_ENV=production)')
})
