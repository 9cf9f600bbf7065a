import t, { type Test } from 'tap'
import fc from 'fast-check'
import * as zlib from 'node:zlib'
import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { PerMessageDeflate, deflateOnce, sharedDeflateKey, type DeflateCallback } from '../../lib/engine/deflate'
import { sharedZlibLimiter } from '../../lib/engine/zlib-limiter'
import { WebSocketError } from '../../lib/errors'
import type { NegotiatedDeflate } from '../../lib/handshake/extensions'

type Role = 'server' | 'client'
interface Codec { compress: (data: Buffer, fin: boolean, cb: DeflateCallback) => void, decompress: (data: Buffer, fin: boolean, cb: DeflateCallback) => void }

// ws's permessage-deflate, loaded by path (its package exports hide lib/)

const WsPerMessageDeflate = require(join(dirname(require.resolve('ws/package.json')), 'lib', 'permessage-deflate.js')) as
  new (options: Record<string, unknown>) => Codec & { params: Record<string, unknown>, cleanup: () => void }

function wsCodec (params: NegotiatedDeflate, role: Role, maxPayload = 0): Codec & { cleanup: () => void } {
  const codec = new WsPerMessageDeflate({ isServer: role === 'server', maxPayload, threshold: 0 })
  codec.params = {
    server_no_context_takeover: params.serverNoContextTakeover,
    client_no_context_takeover: params.clientNoContextTakeover,
    server_max_window_bits: params.serverMaxWindowBits,
    client_max_window_bits: params.clientMaxWindowBits
  }
  return codec
}

const TAKEOVER: NegotiatedDeflate = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }
const NO_TAKEOVER: NegotiatedDeflate = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }
const other = (role: Role): Role => role === 'server' ? 'client' : 'server'

function run (codec: Codec, op: 'compress' | 'decompress', data: Buffer, fin = true): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    codec[op](data, fin, (err, out) => { if (err !== null) reject(err); else resolve(out as Buffer) })
  })
}

function runError (codec: Codec, op: 'compress' | 'decompress', data: Buffer, fin = true): Promise<WebSocketError> {
  return new Promise((resolve, reject) => {
    codec[op](data, fin, (err) => { if (err === null) reject(new Error('expected an error')); else resolve(err as WebSocketError) })
  })
}

/** Cut `data` at the given fractions into fragments (empty ones included when cuts coincide). */
function split (data: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.map(c => Math.floor(c * data.length)).sort((a, b) => a - b)
  const parts: Buffer[] = []
  let from = 0
  for (const p of points) { parts.push(data.subarray(from, p)); from = p }
  parts.push(data.subarray(from))
  return parts
}

/** Run a message through `op` fragment by fragment and concatenate the outputs. */
async function runFragments (codec: Codec, op: 'compress' | 'decompress', parts: Buffer[]): Promise<Buffer> {
  const outs = await Promise.all(parts.map((p, i) => run(codec, op, p, i === parts.length - 1)))
  return Buffer.concat(outs)
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex')

t.test('RFC 7692 section 7.2.3 examples', async t => {
  t.test('"Hello" compresses to f2 48 cd c9 c9 07 00 and back (7.2.3.1)', async t => {
    const server = new PerMessageDeflate(TAKEOVER, 'server')
    const client = new PerMessageDeflate(TAKEOVER, 'client')
    const wire = await run(server, 'compress', Buffer.from('Hello'))
    t.same(wire, hex('f2 48 cd c9 c9 07 00'))
    t.equal((await run(client, 'decompress', wire)).toString(), 'Hello')
  })

  t.test('the same message compressed in two frames inflates frame by frame (7.2.3.1)', async t => {
    const client = new PerMessageDeflate(TAKEOVER, 'client')
    t.equal((await runFragments(client, 'decompress', [hex('f2 48 cd'), hex('c9 c9 07 00')])).toString(), 'Hello')
  })

  t.test('with context takeover the second "Hello" is f2 00 11 00 00; without it is the first again (7.2.3.2)', async t => {
    const keep = new PerMessageDeflate(TAKEOVER, 'server')
    t.same(await run(keep, 'compress', Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'))
    t.same(await run(keep, 'compress', Buffer.from('Hello')), hex('f2 00 11 00 00'))
    const forget = new PerMessageDeflate(NO_TAKEOVER, 'server')
    t.same(await run(forget, 'compress', Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'))
    t.same(await run(forget, 'compress', Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'))
    const client = new PerMessageDeflate(TAKEOVER, 'client')
    t.equal((await run(client, 'decompress', hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello')
    t.equal((await run(client, 'decompress', hex('f2 00 11 00 00'))).toString(), 'Hello')
  })

  t.test('a stored block with no compression inflates (7.2.3.3)', async t => {
    const client = new PerMessageDeflate(TAKEOVER, 'client')
    t.equal((await run(client, 'decompress', hex('00 05 00 fa ff 48 65 6c 6c 6f 00'))).toString(), 'Hello')
  })

  t.test('a block with BFINAL set inflates, and the next message gets a fresh context (7.2.3.4)', async t => {
    const client = new PerMessageDeflate(TAKEOVER, 'client')
    t.equal((await run(client, 'decompress', hex('f3 48 cd c9 c9 07 00 00'))).toString(), 'Hello')
    t.equal((await run(client, 'decompress', hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello')
  })

  t.test('two DEFLATE blocks in one message inflate (7.2.3.5)', async t => {
    const client = new PerMessageDeflate(TAKEOVER, 'client')
    t.equal((await run(client, 'decompress', hex('f2 48 05 00 00 00 ff ff ca c9 c9 07 00'))).toString(), 'Hello')
  })

  t.test('an empty message compresses to 00 and inflates back to nothing (7.2.3.6)', async t => {
    const server = new PerMessageDeflate(TAKEOVER, 'server')
    t.same(await run(server, 'compress', Buffer.alloc(0)), hex('00'))
    await run(server, 'compress', Buffer.from('Hello'))
    t.same(await run(server, 'compress', Buffer.alloc(0)), hex('00'), 'also after a message, with context kept')
    const client = new PerMessageDeflate(TAKEOVER, 'client')
    t.same(await run(client, 'decompress', hex('00')), Buffer.alloc(0))
  })
})

t.test('round trips between our server and client codecs for random messages, fragmentations and parameters', async t => {
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map(a => Buffer.from(a)),
    fc.tuple(fc.string({ maxLength: 40 }), fc.integer({ min: 0, max: 200 })).map(([s, n]) => Buffer.from(s.repeat(n)))
  )
  const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 })
  const params = fc.record({
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: fc.integer({ min: 8, max: 15 }),
    clientMaxWindowBits: fc.integer({ min: 8, max: 15 })
  })
  await fc.assert(fc.asyncProperty(params, fc.constantFrom<Role>('server', 'client'), fc.array(fc.tuple(message, cuts, cuts), { minLength: 1, maxLength: 6 }),
    async (p, senderRole, messages) => {
      const sender = new PerMessageDeflate(p, senderRole)
      const receiver = new PerMessageDeflate(p, other(senderRole))
      for (const [data, sendCuts, receiveCuts] of messages) {
        const wire = await runFragments(sender, 'compress', split(data, sendCuts))
        const back = await runFragments(receiver, 'decompress', split(wire, receiveCuts))
        if (!back.equals(data)) throw new Error(`round trip failed for ${data.length} bytes`)
      }
      sender.close()
      receiver.close()
    }), { numRuns: 60 })
  t.pass('every message came back intact')
})

t.test('a fragmented message whose last fragments are empty still ends without the sync tail', async t => {
  for (const role of ['server', 'client'] as Role[]) {
    const sender = new PerMessageDeflate(TAKEOVER, role)
    const receiver = new PerMessageDeflate(TAKEOVER, other(role))
    const parts = [Buffer.from('Hello, '), Buffer.from('world'), Buffer.alloc(0), Buffer.alloc(0)]
    const outs = await Promise.all(parts.map((p, i) => run(sender, 'compress', p, i === parts.length - 1)))
    const wire = Buffer.concat(outs)
    t.not(wire.subarray(-4).toString('hex'), '0000ffff', 'the final 00 00 ff ff is removed (7.2.1)')
    t.equal((await run(receiver, 'decompress', wire)).toString(), 'Hello, world')
    const empties = await Promise.all([run(sender, 'compress', Buffer.alloc(0), false), run(sender, 'compress', Buffer.alloc(0), true)])
    t.same(Buffer.concat(empties), hex('00'), 'a message of empty fragments is 00')
    t.same(await run(receiver, 'decompress', Buffer.concat(empties)), Buffer.alloc(0))
    t.equal((await run(receiver, 'decompress', await run(sender, 'compress', Buffer.from('again')))).toString(), 'again', 'contexts still agree')
  }
})

t.test('context takeover makes a repeated message smaller, and only when negotiated for the sending side', async t => {
  const text = Buffer.from(Array.from({ length: 80 }, (_, i) => `{"id":${i * 7919 % 1000},"name":"user${i}","ok":${i % 3 === 0}}`).join(','))
  for (const role of ['server', 'client'] as Role[]) {
    const own = role === 'server' ? 'serverNoContextTakeover' : 'clientNoContextTakeover'
    const peer = role === 'server' ? 'clientNoContextTakeover' : 'serverNoContextTakeover'
    const keep = new PerMessageDeflate({ ...TAKEOVER, [peer]: true }, role)
    const first = await run(keep, 'compress', text)
    const second = await run(keep, 'compress', text)
    t.ok(second.length * 5 < first.length, `${role} with takeover: ${first.length} then ${second.length} bytes`)
    const forget = new PerMessageDeflate({ ...TAKEOVER, [own]: true }, role)
    const a = await run(forget, 'compress', text)
    const b = await run(forget, 'compress', text)
    t.same(a, b, `${role} without takeover: both ${a.length} bytes`)
    t.same(a, first)
  }
})

t.test('inflating respects the peer\'s takeover: a message referring to the previous one needs the kept window', async t => {
  const sender = new PerMessageDeflate(TAKEOVER, 'server')
  const text = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(20))
  const m1 = await run(sender, 'compress', text)
  const m2 = await run(sender, 'compress', text)
  const keeps = new PerMessageDeflate(TAKEOVER, 'client')
  await run(keeps, 'decompress', m1)
  t.same(await run(keeps, 'decompress', m2), text)
  // a receiver told the server drops its context resets its window, so m2 cannot be read
  const resets = new PerMessageDeflate({ ...TAKEOVER, serverNoContextTakeover: true }, 'client')
  await run(resets, 'decompress', m1)
  const err = await runError(resets, 'decompress', m2)
  t.equal(err.code, 'WS_ERR_INFLATE')
})

t.test('interop with ws\'s permessage-deflate in both directions and every parameter combination', async t => {
  const messages = [Buffer.from('Hello'), Buffer.alloc(0), randomBytes(2000), Buffer.from('abcabcabc'.repeat(500)), Buffer.from('Hello'),
    Buffer.from(Array.from({ length: 300 }, (_, i) => String.fromCharCode(97 + (i * 7) % 26)).join('').repeat(30))]
  let checked = 0
  for (const serverNoContextTakeover of [false, true]) {
    for (const clientNoContextTakeover of [false, true]) {
      for (const serverMaxWindowBits of [8, 9, 12, 15]) {
        for (const clientMaxWindowBits of [8, 11, 15]) {
          const p = { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits }
          for (const ourRole of ['server', 'client'] as Role[]) {
            const ours = new PerMessageDeflate(p, ourRole)
            const theirs = wsCodec(p, other(ourRole))
            for (const m of messages) {
              const toWs = await run(theirs, 'decompress', await run(ours, 'compress', m))
              const fromWs = await run(ours, 'decompress', await run(theirs, 'compress', m))
              if (!toWs.equals(m) || !fromWs.equals(m)) t.fail(`${JSON.stringify(p)} ${ourRole} ${m.length}`)
              checked++
            }
            // fragmented in both directions
            const big = messages[5]
            const parts = split(big, [0.1, 0.5, 0.5, 0.9])
            const wire = await runFragments(ours, 'compress', parts)
            t.same(await run(theirs, 'decompress', wire), big)
            const theirWire = await runFragments(theirs, 'compress', parts)
            t.same(await runFragments(ours, 'decompress', split(theirWire, [0.3, 0.6])), big)
            ours.close()
            theirs.cleanup()
          }
        }
      }
    }
  }
  t.equal(checked, 2 * 2 * 4 * 3 * 2 * messages.length)
})

// zlib only enforces a window across inflate calls (within one call the output buffer serves as
// the window), so these tests make the second message refer back into the first.
async function sendTwice (senderBits: number, receiverBits: number, pattern: Buffer): Promise<[Buffer, Buffer | WebSocketError]> {
  const sender = new PerMessageDeflate({ ...TAKEOVER, serverMaxWindowBits: senderBits }, 'server')
  const receiver = new PerMessageDeflate({ ...TAKEOVER, serverMaxWindowBits: receiverBits }, 'client')
  const first = await run(receiver, 'decompress', await run(sender, 'compress', pattern))
  const wire = await run(sender, 'compress', pattern)
  return [first, await run(receiver, 'decompress', wire).catch((err: WebSocketError) => err)]
}

t.test('window bits: output for an 8-bit window decodes with a 256-byte window though zlib compresses with 9 bits', async t => {
  // the second message repeats the first at distance 300, which any window above 9 bits reaches
  const pattern = randomBytes(300)
  for (const bits of [8, 9, 10, 15]) {
    const [first, second] = await sendTwice(bits, bits, pattern)
    t.same(first, pattern)
    t.same(second, pattern, `${bits} bits`)
  }
  const [, second] = await sendTwice(8, 8, Buffer.concat([pattern, pattern, pattern]))
  t.same(second, Buffer.concat([pattern, pattern, pattern]), 'longer messages too')
})

t.test('a peer compressing with a larger window than agreed fails with WS_ERR_INFLATE (1007)', async t => {
  const [, second] = await sendTwice(10, 8, randomBytes(300))
  t.ok(second instanceof WebSocketError)
  t.equal((second as WebSocketError).code, 'WS_ERR_INFLATE')
  t.equal((second as WebSocketError).closeCode, 1007)
  t.match((second as WebSocketError).message, /too far back/)
})

t.test('corrupt data fails with WS_ERR_INFLATE, and the codec then inflates a new message with a fresh context', async t => {
  const client = new PerMessageDeflate(TAKEOVER, 'client')
  const err = await runError(client, 'decompress', hex('ff ff ff ff 01 02'))
  t.ok(err instanceof WebSocketError)
  t.equal(err.code, 'WS_ERR_INFLATE')
  t.equal(err.closeCode, 1007)
  t.ok(err.cause instanceof Error, 'the zlib error is kept as the cause')
  t.equal((await run(client, 'decompress', hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello')
})

t.test('an empty compressed payload is read as an empty message without disturbing the context', async t => {
  const ws = wsCodec(TAKEOVER, 'server')
  const client = new PerMessageDeflate(TAKEOVER, 'client')
  const text = Buffer.from('context that the next message refers to '.repeat(5))
  t.same(await run(client, 'decompress', await run(ws, 'compress', text)), text)
  t.same(await run(client, 'decompress', Buffer.alloc(0)), Buffer.alloc(0))
  t.same(await runFragments(client, 'decompress', [Buffer.alloc(0), Buffer.alloc(0)]), Buffer.alloc(0))
  t.same(await run(client, 'decompress', await run(ws, 'compress', text)), text)
})

/** Count the bytes every InflateRaw stream produces while `fn` runs. */
async function countInflated (fn: () => Promise<void>): Promise<number> {
  const proto = zlib.InflateRaw.prototype as unknown as { push: (chunk: Buffer | null) => boolean }
  const original = proto.push
  let total = 0
  proto.push = function (this: Readable, chunk: Buffer | null) {
    if (chunk !== null) total += chunk.length
    return Readable.prototype.push.call(this, chunk)
  }
  try { await fn() } finally { proto.push = original }
  return total
}

t.test('a compression bomb stops inflating as soon as it passes maxPayload (WS_ERR_MESSAGE_TOO_BIG, 1009)', async t => {
  const bomb = zlib.deflateRawSync(Buffer.alloc(10 << 20), { level: 9 })
  t.ok(bomb.length < 20_000, `10 MB of zeros deflate to ${bomb.length} bytes`)
  const server = new PerMessageDeflate(TAKEOVER, 'server', {}, 1 << 20)
  let err: WebSocketError | undefined
  let heldAfter = 0
  const before = process.memoryUsage().arrayBuffers
  const produced = await countInflated(async () => {
    err = await runError(server, 'decompress', bomb)
    // give zlib time to go on inflating, were it still allowed to
    await new Promise(resolve => setTimeout(resolve, 200))
    heldAfter = process.memoryUsage().arrayBuffers - before
  })
  t.equal(err?.code, 'WS_ERR_MESSAGE_TOO_BIG')
  t.equal(err?.closeCode, 1009)
  t.ok(produced > 1 << 20 && produced <= (1 << 20) + 64 * 1024, `inflated ${produced} bytes, not 10 MB`)
  t.ok(heldAfter < 6 << 20, `array buffers grew by ${(heldAfter / 1048576).toFixed(1)} MB`)
  // the connection would be failed, but the codec is left usable
  t.equal((await run(server, 'decompress', hex('f2 48 cd c9 c9 07 00'))).toString(), 'Hello')
})

t.test('the inflated-size limit counts a whole fragmented message, and maxInflatedSize lowers it', async t => {
  const data = randomBytes(3000)
  const sender = new PerMessageDeflate(TAKEOVER, 'client')
  const parts = await Promise.all(split(data, [0.33, 0.66]).map((p, i) => run(sender, 'compress', p, i === 2)))
  const receiver = new PerMessageDeflate(TAKEOVER, 'server', {}, 2500)
  const results = await Promise.allSettled(parts.map((p, i) => run(receiver, 'decompress', p, i === 2)))
  t.equal(results[0].status, 'fulfilled', 'the first fragment is under the limit')
  t.equal(results[2].status, 'rejected')
  t.equal(((results[2] as PromiseRejectedResult).reason as WebSocketError).code, 'WS_ERR_MESSAGE_TOO_BIG')
  const small = new PerMessageDeflate(TAKEOVER, 'server', { maxInflatedSize: 100 }, 1 << 20)
  const wire = await run(new PerMessageDeflate(TAKEOVER, 'client'), 'compress', Buffer.alloc(101))
  t.equal((await runError(small, 'decompress', wire)).code, 'WS_ERR_MESSAGE_TOO_BIG')
  const exact = new PerMessageDeflate(TAKEOVER, 'server', { maxInflatedSize: 101 })
  t.equal((await run(exact, 'decompress', wire)).length, 101, 'a message of exactly the limit passes')
  const unlimited = new PerMessageDeflate(TAKEOVER, 'server', {}, 0)
  const big = await run(new PerMessageDeflate(TAKEOVER, 'client'), 'compress', Buffer.alloc(3 << 20, 7))
  t.equal((await run(unlimited, 'decompress', big)).length, 3 << 20, 'maxPayload 0 means no limit')
})

async function checkOrder (t: Test, concurrency: number): Promise<void> {
  const limiter = sharedZlibLimiter(concurrency)
  const codecs = Array.from({ length: 30 }, (_, i) => new PerMessageDeflate(i % 2 === 0 ? TAKEOVER : NO_TAKEOVER, i % 3 === 0 ? 'client' : 'server', { concurrencyLimit: concurrency }))
  const seen: number[][] = codecs.map(() => [])
  let maxRunning = 0
  const jobs: Array<Promise<void>> = []
  for (let n = 0; n < 12; n++) {
    codecs.forEach((codec, i) => {
      // large and small messages alternate, so a small one would overtake a large one if allowed
      const data = n % 2 === 0 ? randomBytes(60_000) : Buffer.from(`message ${n}`)
      jobs.push(new Promise((resolve, reject) => {
        codec.compress(data, true, (err) => {
          maxRunning = Math.max(maxRunning, limiter.running)
          if (err !== null) reject(err); else { seen[i].push(n); resolve() }
        })
      }))
    })
  }
  t.ok(limiter.pending > 0, 'jobs were queued behind the limit')
  await Promise.all(jobs)
  t.ok(seen.every(list => list.join() === '0,1,2,3,4,5,6,7,8,9,10,11'), 'every codec completed in submission order')
  t.ok(maxRunning <= concurrency, `at most ${concurrency} zlib jobs ran at once (saw ${maxRunning})`)
  t.equal(limiter.running, 0)
  for (const c of codecs) c.close()
}

t.test('order is preserved per codec under a limiter of concurrency 1', async t => checkOrder(t, 1))
t.test('order is preserved per codec under a limiter of concurrency 2', async t => checkOrder(t, 2))

t.test('callbacks are never called synchronously', async t => {
  const codec = new PerMessageDeflate(TAKEOVER, 'server')
  let returned = false
  const done = new Promise<void>(resolve => codec.compress(Buffer.from('x'), true, () => { t.ok(returned); resolve() }))
  returned = true
  await done
  codec.close()
  returned = false
  const closed = new Promise<void>(resolve => codec.decompress(Buffer.from('x'), true, (err) => {
    t.ok(returned)
    t.equal((err as WebSocketError).code, 'WS_ERR_CONNECTION_CLOSED')
    resolve()
  }))
  returned = true
  await closed
})

t.test('close() fails queued and running jobs in order, once each, and frees their limiter slots', async t => {
  const concurrency = 1
  const codec = new PerMessageDeflate(TAKEOVER, 'server', { concurrencyLimit: concurrency })
  const results: string[] = []
  for (let i = 0; i < 4; i++) {
    codec.compress(randomBytes(100_000), true, (err) => results.push(`c${i}:${(err as WebSocketError | null)?.code ?? 'ok'}`))
    codec.decompress(hex('f2 48 cd c9 c9 07 00'), true, (err) => results.push(`d${i}:${(err as WebSocketError | null)?.code ?? 'ok'}`))
  }
  t.equal(codec.pending, 8)
  codec.close()
  codec.close()
  t.equal(codec.pending, 0)
  t.same(results, [0, 1, 2, 3].map(i => `c${i}:WS_ERR_CONNECTION_CLOSED`).concat([0, 1, 2, 3].map(i => `d${i}:WS_ERR_CONNECTION_CLOSED`)))
  // another codec on the same limiter still gets to run
  const next = new PerMessageDeflate(TAKEOVER, 'server', { concurrencyLimit: concurrency })
  t.same(await run(next, 'compress', Buffer.from('Hello')), hex('f2 48 cd c9 c9 07 00'))
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(results.length, 8, 'the zlib work still running at close did not call back again')
  t.equal(sharedZlibLimiter(concurrency).running, 0)
})

t.test('deflateOnce compresses a broadcast like a server without context takeover', async t => {
  const params = { ...TAKEOVER, serverNoContextTakeover: true, serverMaxWindowBits: 10 }
  const data = Buffer.from('broadcast to every subscriber '.repeat(40))
  const once = await new Promise<Buffer>((resolve, reject) => deflateOnce(data, params, {}, (err, out) => err === null ? resolve(out as Buffer) : reject(err)))
  const codec = new PerMessageDeflate(params, 'server')
  t.same(once, await run(codec, 'compress', data))
  for (let i = 0; i < 3; i++) {
    const receiver = wsCodec(params, 'client')
    await run(receiver, 'decompress', await run(codec, 'compress', Buffer.from(`private message ${i}`)))
    t.same(await run(receiver, 'decompress', once), data, 'every subscriber can read the shared frame')
  }
  const empty = await new Promise<Buffer>((resolve, reject) => deflateOnce(Buffer.alloc(0), params, true, (err, out) => err === null ? resolve(out as Buffer) : reject(err)))
  t.same(empty, hex('00'))
  t.equal(sharedDeflateKey(TAKEOVER), null, 'a server keeping its context cannot send shared frames')
  t.equal(sharedDeflateKey(params), sharedDeflateKey(params, { level: 1 }))
  t.not(sharedDeflateKey(params), sharedDeflateKey({ ...params, serverMaxWindowBits: 15 }))
  t.not(sharedDeflateKey(params), sharedDeflateKey(params, { level: 9 }))
})

t.test('the codec exposes its negotiated parameters and threshold', async t => {
  const codec = new PerMessageDeflate(NO_TAKEOVER, 'client', { threshold: 64 })
  t.equal(codec.threshold, 64)
  t.same(codec.params, NO_TAKEOVER)
  t.equal(new PerMessageDeflate(NO_TAKEOVER, 'client').threshold, 1024)
})

t.test('a zlib error while compressing reaches the callback and the next message gets a new stream', async t => {
  type Transform = (chunk: Buffer, encoding: string, cb: (err?: Error) => void) => void
  const proto = zlib.DeflateRaw.prototype as unknown as { _transform: Transform }
  const own = Object.prototype.hasOwnProperty.call(proto, '_transform')
  const original = proto._transform
  const restore = (): void => { if (own) proto._transform = original; else delete (proto as Partial<typeof proto>)._transform }
  // the next DeflateRaw write fails once, as a zlib error would
  proto._transform = function (_chunk, _encoding, cb) { restore(); cb(new Error('simulated zlib failure')) }
  try {
    const codec = new PerMessageDeflate({ ...TAKEOVER, serverMaxWindowBits: 13 }, 'server')
    const err = await runError(codec, 'compress', Buffer.from('Hello'))
    t.match(err.message, /simulated zlib failure/)
    const wire = await run(codec, 'compress', Buffer.from('Hello'))
    t.equal((await run(new PerMessageDeflate(TAKEOVER, 'client'), 'decompress', wire)).toString(), 'Hello')
  } finally {
    restore()
  }
})
