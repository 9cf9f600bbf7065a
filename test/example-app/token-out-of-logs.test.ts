// Session tokens stay out of URLs and out of the request log: the demo server runs in a process of
// its own with every log level on (trace, JSON), clients log in, join (the token offered as the
// subprotocol token.<token>), chat, ask /api/check (Authorization: Bearer), and a stale page
// sends a token in a query string; the log, read whole, holds none of the tokens.
import t from 'tap'
import { once } from 'node:events'
import WS from 'ws'
import { startDemo, demoLogin } from '../helpers/demo-process'
import { nextChatEvent } from '../helpers/chat-frames'

t.test('no token reaches the request log of the demo server, whatever the client sends where', { timeout: 30_000 }, async t => {
  const demo = await startDemo({ SECRET: 'log test', LOG_LEVEL: 'trace' })
  t.teardown(() => demo.stop('SIGKILL'))
  const wsBase = demo.base.replace('http', 'ws')

  const ada = await demoLogin(demo.base, 'ada')
  const bob = await demoLogin(demo.base, 'bob')

  // the page's way: the token as an offered subprotocol; the 101 selects chat.v1 only
  const client = new WS(`${wsBase}/chat/lobby`, ['chat.v1', `token.${ada}`], { origin: demo.base })
  t.match(await nextChatEvent(client), { type: 'welcome', you: 'ada' })
  t.equal(client.protocol, 'chat.v1', 'the server answers with chat.v1, never the token')
  client.send(JSON.stringify({ type: 'message', text: 'hello' }))
  await once(client, 'message')
  client.close()
  await once(client, 'close')

  const check = await fetch(`${demo.base}/api/check`, { headers: { authorization: `Bearer ${ada}` } })
  t.equal(check.status, 200, '/api/check reads the token from Authorization')

  // a stale page (or a hand-made request) with a token in the query string: refused, and masked in the log
  const stale = new WS(`${wsBase}/chat/lobby?token=${bob}&room=x`, 'chat.v1', { origin: demo.base })
  stale.on('error', () => {}) // terminate() below, while still connecting
  const [, res] = await once(stale, 'unexpected-response') as [unknown, { statusCode: number }]
  t.equal(res.statusCode, 401, 'a token in the query string is not read')
  stale.terminate()
  t.equal((await fetch(`${demo.base}/?token=${bob}`)).status, 200)
  const missing = await fetch(`${demo.base}/nowhere?token=${bob}`)
  t.equal(missing.status, 404)
  t.same(await missing.json(), { error: 'Not Found', message: 'no route for GET /nowhere' }, 'a 404 does not repeat the query string either')
  // a wrong subprotocol next to a good token: refused with 400 without listing the offer
  const wrong = new WS(`${wsBase}/chat/lobby`, ['chat.v2', `token.${bob}`], { origin: demo.base })
  wrong.on('error', () => {})
  const [, res2] = await once(wrong, 'unexpected-response') as [unknown, { statusCode: number }]
  t.equal(res2.statusCode, 400)
  wrong.terminate()

  t.equal(await demo.stop('SIGTERM'), 0)
  const log = demo.output()
  const lines = demo.logs()
  const urls = lines.map(l => (l.req as { url?: string } | undefined)?.url).filter(u => u !== undefined)
  t.ok(urls.includes('/chat/lobby'), 'the handshakes were logged')
  t.ok(urls.includes('/chat/lobby?token=[redacted]&room=x'), 'the stale request was logged with its token masked')
  t.ok(urls.includes('/?token=[redacted]'))
  t.ok(urls.includes('/nowhere?token=[redacted]'))
  t.ok(lines.some(l => l.msg === 'joined'), 'and so was the join (trace level on)')
  for (const [name, token] of [['ada', ada], ['bob', bob]]) {
    const [payload, signature] = token.split('.')
    t.notOk(log.includes(token), `${name}'s token is nowhere in the log`)
    t.notOk(log.includes(signature), 'nor its signature')
    t.notOk(log.includes(payload), 'nor its payload')
  }
})
