// An adapter that answers replays later (as Redis does), with the app in another process: live
// messages published meanwhile wait for the replay and follow it without duplicates; more of them
// than maxBackpressure closes the socket with 1013 (it resumes on reconnect); a failed replay
// closes it with 1011.
import t, { type Test } from 'tap'
import { join } from 'node:path'
import WS from 'ws'
import { forkPeer, type PeerProcess } from '../helpers/peer-process'

const SERVER = join(__dirname, 'fixtures', 'resume-server.js')

async function start (t: Test): Promise<{ peer: PeerProcess, port: number }> {
  const peer = forkPeer(SERVER, { slow: '1', maxBackpressure: '4096' })
  t.teardown(() => peer.stop())
  return { peer, port: (await peer.next<{ port: number }>(20_000)).port }
}

async function ask (peer: PeerProcess, m: object): Promise<void> {
  peer.child.send(m)
  await peer.next(20_000)
}

/** A client; resolves once the app has asked the adapter for its replay. */
async function subscriber (peer: PeerProcess, port: number, query: string): Promise<{ ws: WS, got: string[], closed: Promise<number> }> {
  const ws = new WS(`ws://127.0.0.1:${port}/ws?${query}`)
  const got: string[] = []
  ws.on('message', (data: Buffer) => {
    const text = data.toString('latin1')
    // kind and data (the id left out: it differs from run to run)
    got.push(text.charCodeAt(0) === 0x1e ? `${text[1]}${text.slice(text.indexOf('\n') + 1)}` : text)
  })
  ws.on('error', () => {})
  const closed = new Promise<number>(resolve => ws.once('close', code => resolve(code)))
  await peer.next(20_000) // { replaying }
  return { ws, got, closed }
}

const settle = async (ws: WS, got: string[], n: number): Promise<void> => {
  while (got.length < n) await new Promise(resolve => ws.once('message', resolve))
}

t.test('live messages wait for a late replay and follow it once, in order', async t => {
  const { peer, port } = await start(t)
  const fresh = await subscriber(peer, port, 'topics=t')
  await ask(peer, { publish: { topic: 't', prefix: 'x', from: 0, count: 2 } })
  await ask(peer, { release: true })
  await settle(fresh.ws, fresh.got, 3)
  t.same(fresh.got, ['mx0', 'mx1', 's'], 'subscribed afresh: what came after subscribing, then synced')

  const raw = new WS(`ws://127.0.0.1:${port}/ws?topics=t`)
  const ids: string[] = []
  raw.on('message', (d: Buffer) => ids.push(d.toString('latin1').split(' ')[1]))
  await peer.next(20_000)
  await ask(peer, { release: true })
  while (ids.length < 1) await new Promise(resolve => raw.once('message', resolve))
  raw.close()
  const resuming = await subscriber(peer, port, `topics=t&resume=${ids[0]}%3At`)
  await ask(peer, { publish: { topic: 't', prefix: 'x', from: 2, count: 2 } })
  await ask(peer, { release: true })
  await ask(peer, { publish: { topic: 't', prefix: 'x', from: 4, count: 1 } })
  await settle(resuming.ws, resuming.got, 4)
  t.same(resuming.got, ['mx2', 'mx3', 's', 'mx4'], 'resuming: the replay holds what waited, sent once; then live')
  fresh.ws.close()
  resuming.ws.close()
})

t.test('more live messages than maxBackpressure while the replay is read: closed with 1013', async t => {
  const { peer, port } = await start(t)
  const a = await subscriber(peer, port, 'topics=t')
  await ask(peer, { publish: { topic: 't', prefix: 'y', from: 0, count: 10, pad: 1000 } })
  t.equal(await a.closed, 1013, 'Try Again Later: the client resumes from its id')
  t.same(a.got, [], 'nothing was sent before the replay')
})

t.test('a replay that fails closes the socket with 1011', async t => {
  const { peer, port } = await start(t)
  const a = await subscriber(peer, port, 'topics=t')
  await ask(peer, { fail: true })
  t.equal(await a.closed, 1011)
})
