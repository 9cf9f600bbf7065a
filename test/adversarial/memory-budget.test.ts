// Issue 10, class 6: a process-wide memory budget. Per-socket limits multiply (10,000 sockets x
// 16 MiB of maxPayload is 160 GB); the memoryBudget option caps what every socket holds together.
// The server runs in a process of its own; the attackers open connections that each hold a large
// incomplete message, together far past the budget.
import t from 'tap'
import { spawnServer, FIXTURE_SERVER, echoes, mib } from '../helpers/adversary'
import { RawClient } from '../helpers/raw-client'

/** A masked frame header announcing `length` bytes, with a zero key: the payload goes as is. */
function clientFrameHeader (opcode: number, length: number, fin: boolean): Buffer {
  const h = Buffer.alloc(14)
  h[0] = (fin ? 0x80 : 0) | opcode
  h[1] = 0x80 | 127
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
  h.writeUInt32BE(length >>> 0, 6)
  return h // bytes 10-13: the zero masking key
}

const BUDGET = 24 * 1024 * 1024
const HOLD = 6 * 1024 * 1024 // what each attacker sends of a 12 MiB message it never finishes
const ATTACKERS = 8 // 48 MiB in all: twice the budget

t.test('past the memory budget the largest holders are closed with 1013, new upgrades get 503, and the server stays small', async t => {
  const server = await spawnServer(t, FIXTURE_SERVER, {
    args: ['--config', JSON.stringify({ plugin: { memoryBudget: BUDGET, maxPayload: 64 * 1024 * 1024 }, log: 'silent' })]
  })
  const idle = server.rss()
  const sampler = server.sampleRss(20)
  const attackers: RawClient[] = []
  const closes: Array<number | null> = []
  let refused = 0
  // every attacker connects first (past 90% of the budget, new connections are refused)
  for (let i = 0; i < ATTACKERS; i++) attackers.push(await RawClient.open(server.port, t))
  for (const [i, c] of attackers.entries()) {
    // the header announces 12 MiB: the server assembles what arrives, up to the budget
    c.write(clientFrameHeader(0x2, 12 * 1024 * 1024, false))
    const piece = Buffer.alloc(64 * 1024, i)
    for (let sent = 0; sent < HOLD; sent += piece.length) c.write(piece)
  }
  // the evicted get their close at once; the survivors (together under the budget) get none
  const results = await Promise.allSettled(attackers.map(c => c.readClose(5000)))
  for (const r of results) if (r.status === 'fulfilled') closes.push(r.value.code)
  // while the survivors hold most of the budget, a new connection is refused
  const probe = await RawClient.request(server.port, t, { path: '/' })
  if (probe.head.statusCode === 503) refused++
  probe.client.destroy()
  const peak = sampler.stop()
  const evicted = closes.length
  t.ok(server.alive(), 'the server process survived')
  t.ok(evicted >= ATTACKERS - Math.floor(BUDGET / HOLD), `${evicted} of ${ATTACKERS} holders were closed (close codes: ${closes.join(', ')})`)
  t.ok(closes.every(code => code === 1013), 'every close sent was 1013 Try Again Later')
  // the peak counts garbage not yet collected: +50 MB on Node 20, +60 to +90 MiB on Node 24
  // (measured at this commit and at the session before it); what the budget itself does is
  // asserted above (the evictions) and below (the 503)
  t.ok(peak - idle < BUDGET + 96 * 1024 * 1024, `RSS grew by ${mib(peak - idle)} (idle ${mib(idle)}, peak ${mib(peak)}) under ${mib(ATTACKERS * HOLD)} of attack`)
  t.equal(refused, 1, 'an upgrade while the survivors fill the budget got 503')
  for (const c of attackers) c.destroy()
  t.ok(await echoes(server.port), 'once they are gone, a legitimate client is served again')
})

t.test('a new upgrade is refused with 503 while the budget is exhausted, and accepted again once memory is released', async t => {
  // one holder of more than the whole budget cannot be evicted into room: its own message is the
  // largest, so it goes; then the budget is free and upgrades are accepted again
  const server = await spawnServer(t, FIXTURE_SERVER, {
    args: ['--config', JSON.stringify({ plugin: { memoryBudget: 2 * 1024 * 1024, maxPayload: 64 * 1024 * 1024 }, log: 'silent' })]
  })
  const holder = await RawClient.open(server.port, t)
  holder.write(clientFrameHeader(0x2, 8 * 1024 * 1024, false))
  // within 10% of the budget: nothing is evicted, but no new connection is taken
  const piece = Buffer.alloc(64 * 1024, 7)
  for (let sent = 0; sent < 2 * 1024 * 1024 - 64 * 1024; sent += piece.length) holder.write(piece)
  let status = 0
  for (let i = 0; i < 200 && status !== 503; i++) {
    const probe = await RawClient.request(server.port, t, { path: '/' })
    status = probe.head.statusCode
    probe.client.destroy()
    if (status === 101) await new Promise(resolve => setTimeout(resolve, 25))
  }
  t.equal(status, 503, 'an upgrade is refused with 503 while the budget is (nearly) full')
  // push it over: the holder is the largest and is closed with 1013
  holder.write(Buffer.alloc(256 * 1024, 8))
  const { code } = await holder.readClose(20_000)
  t.equal(code, 1013, 'the holder that crossed the budget got 1013')
  t.ok(await echoes(server.port), 'upgrades are accepted again once its memory is released')
})
