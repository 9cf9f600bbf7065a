// Differential soak: random sequences of messages (0 B to 1 MiB, text and binary, fragmented or
// not, bursts of 1 to 1,000 back to back, permessage-deflate off and on across every window size
// and context-takeover setting) echoed between peers that each run in a process of their own:
//   (a) a `ws` client and our server, (b) our client and a `ws` server, (c) our client and our server.
// The client checks every echo byte for byte and in order (test/differential/fixtures/).
//   SOAK_SEED=N       replay a run (the seed is printed as `# seed: N`)
//   SOAK_SECONDS=S    time for the three pairings together (default 60; longer on demand:
//                     SOAK_SECONDS=900 npx tap -t0 test/differential/soak.test.ts)
//   SOAK_SESSIONS=N   at most N connections per pairing (default 40)
//   SOAK_BUDGET=B     bytes per burst at most (default 4 MiB)
//   SOAK_ONLY=a:7     replay one session (pairing a, b or c, and the session number a failure names)
// Every peer runs the dist/ build (npm run build first).
import t, { type Test } from 'tap'
import path from 'node:path'
import { forkPeer } from '../helpers/peer-process'

const FIXTURES = path.join(__dirname, 'fixtures')
const seed = process.env.SOAK_SEED !== undefined ? Number(process.env.SOAK_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32)
const seconds = Number(process.env.SOAK_SECONDS ?? 60)
const maxSessions = Number(process.env.SOAK_SESSIONS ?? 40)
const budget = Number(process.env.SOAK_BUDGET ?? 4 << 20)
const SILENCE_MS = 30_000
const only = /^([abc]):(\d+)$/.exec(process.env.SOAK_ONLY ?? '')
/** frames per message at most (fixtures/common.js MAX_FRAGMENTS): a frame size caps the message size */
const MAX_FRAGMENTS = 10_000

t.comment(`seed: ${seed}`)
t.setTimeout((seconds + 90) * 1000)

type Impl = 'ours' | 'ws'
interface Pairing { name: string, client: Impl, server: Impl }
const PAIRINGS: Pairing[] = [
  { name: '(a) ws client -> our server', client: 'ws', server: 'ours' },
  { name: '(b) our client -> ws server', client: 'ours', server: 'ws' },
  { name: '(c) our client -> our server', client: 'ours', server: 'ours' }
]

/** the same mulberry32 as the fixtures', for the session parameters */
function prng (s: number): () => number {
  let a = s >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

interface DeflateSettings {
  threshold?: number
  serverNoContextTakeover?: boolean
  clientNoContextTakeover?: boolean
  serverMaxWindowBits?: number
  clientMaxWindowBits?: number
}

interface Session {
  index: number
  seed: number
  bursts: number
  /** false, or who asks for the window and context settings: the client's offer or the server */
  deflate: false | { asks: 'client' | 'server', server: DeflateSettings, client: DeflateSettings }
  /** frame size our peers split messages into (0: whole); the ws client fragments per message */
  clientFrag: number
  serverFrag: number
}

/**
 * Session k's parameters. Two in three sessions negotiate deflate; those walk through window
 * bits 8..15 and the four no-context-takeover combinations in turn from a seeded start (so that
 * a run of 16 deflate sessions has met each), alternating which side asks for them; the rest is
 * drawn at random.
 */
function session (pairingSeed: number, k: number): Session {
  const rnd = prng(pairingSeed + k * 7919)
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1))
  const frag = (): number => rnd() < 0.5 ? 0 : Math.floor(Math.exp(rnd() * Math.log(65536))) + 15
  let deflate: Session['deflate'] = false
  if (k % 3 !== 2) {
    const d = Math.floor(k / 3) * 2 + (k % 3) // 0, 1, 2, ... over the deflate sessions
    // from a point the seed picks, so that short runs on a busy machine still differ run to run
    const bits = 8 + ((d + pairingSeed) % 8)
    const nct = (Math.floor(d / 2) + (pairingSeed >>> 3)) % 4
    const asked: DeflateSettings = {
      serverNoContextTakeover: (nct & 1) !== 0,
      clientNoContextTakeover: (nct & 2) !== 0,
      ...(rnd() < 0.8 ? { serverMaxWindowBits: bits } : {}),
      ...(rnd() < 0.8 ? { clientMaxWindowBits: int(8, 15) } : {})
    }
    const threshold = (): number => [0, 0, 64, 1024][int(0, 3)]
    const asks = d % 2 === 0 ? 'client' : 'server'
    // a ws client given clientNoContextTakeover: false fails the handshake when a server asks for
    // client_no_context_takeover (which our servers do by default, decompressor 'shared'), so the
    // server keeps a dedicated decompressor for that client, as the README says to
    const keepClientContext: DeflateSettings = asked.clientNoContextTakeover === false ? { clientNoContextTakeover: false } : {}
    deflate = asks === 'client'
      ? { asks, client: { ...asked, threshold: threshold() }, server: { ...keepClientContext, threshold: threshold() } }
      : { asks, client: { threshold: threshold() }, server: { ...asked, threshold: threshold() } }
  }
  return { index: k, seed: Math.floor(rnd() * 2 ** 32), bursts: int(2, 10), deflate, clientFrag: frag(), serverFrag: frag() }
}

interface ClientResult {
  ok: boolean
  failure?: string
  mismatch?: unknown
  extensions: string
  bursts: number
  messages: number
  bytes: number
  received: number
  inFlight: unknown
}

/**
 * The largest message of a session: a frame size allows MAX_FRAGMENTS frames a message. The ws
 * server compresses each frame it is given as a zlib job of its own, a thousand times slower than
 * a whole message, so behind it compressed messages are kept to 500 frames.
 */
function sizeCap (pairing: Pairing, s: Session): number {
  let cap = 1 << 20
  if (pairing.client === 'ours' && s.clientFrag > 0) cap = Math.min(cap, s.clientFrag * MAX_FRAGMENTS)
  if (s.serverFrag > 0) cap = Math.min(cap, s.serverFrag * (pairing.server === 'ws' && s.deflate !== false ? 500 : MAX_FRAGMENTS))
  return cap
}

async function runSession (pairing: Pairing, s: Session, until: number): Promise<{ result: ClientResult, output: string }> {
  const server = forkPeer(path.join(FIXTURES, 'server.js'), {
    impl: pairing.server, deflate: s.deflate === false ? false : s.deflate.server, frag: s.serverFrag
  })
  try {
    const { port } = await server.next<{ port: number }>(20_000)
    const client = forkPeer(path.join(FIXTURES, 'client.js'), {
      impl: pairing.client,
      url: `ws://127.0.0.1:${port}/`,
      seed: s.seed,
      bursts: s.bursts,
      budget,
      sizeCap: sizeCap(pairing, s),
      deflate: s.deflate === false ? false : s.deflate.client,
      frag: s.clientFrag,
      silence: SILENCE_MS,
      until
    })
    try {
      const result = await client.next<ClientResult>(SILENCE_MS + 120_000)
      return { result, output: `client:\n${client.output()}\nserver:\n${server.output()}` }
    } finally {
      await client.stop()
    }
  } finally {
    await server.stop()
  }
}

async function soak (t: Test, pairing: Pairing, pairingIndex: number, ms: number): Promise<void> {
  const pairingSeed = (seed + pairingIndex * 1_000_003) >>> 0
  const deadline = Date.now() + ms
  let messages = 0
  let bytes = 0
  let sessions = 0
  let deflated = 0
  const windows = new Set<string>()
  const first = only === null ? 0 : Number(only[2])
  const last = only === null ? maxSessions - 1 : first
  for (let k = first; k <= last && (k === first || Date.now() < deadline); k++) {
    const s = session(pairingSeed, k)
    const started = Date.now()
    const { result, output } = await runSession(pairing, s, only === null ? deadline : 0)
    t.comment(`session ${k}: ${result.messages} messages, ${(result.bytes / 2 ** 20).toFixed(1)} MiB, ` +
      `${result.extensions || 'no deflate'}, frames of ${s.clientFrag || 'any size'} / ${s.serverFrag || 'any size'}: ${Date.now() - started} ms`)
    const wantDeflate = s.deflate !== false
    const ok = result.ok && result.extensions.startsWith('permessage-deflate') === wantDeflate
    if (!ok) {
      t.fail(`${pairing.name}: session ${k} failed`, {
        seed,
        pairing: pairing.name,
        session: s,
        failure: result.failure ?? (wantDeflate ? 'deflate was not negotiated' : 'deflate negotiated unasked'),
        firstMismatch: result.mismatch,
        extensions: result.extensions,
        progress: { bursts: result.bursts, sent: result.messages, received: result.received, inFlight: result.inFlight },
        peers: output.slice(-4000)
      })
      console.log(`# soak failure: replay with SOAK_SEED=${seed} SOAK_ONLY=${'abc'[pairingIndex]}:${k} (${pairing.name}): ${result.failure ?? 'negotiation'} ${JSON.stringify(result.mismatch ?? '')}`)
      return // the seed replays it; later sessions of this pairing would only repeat the noise
    }
    sessions++
    messages += result.messages
    bytes += result.bytes
    if (wantDeflate) {
      deflated++
      windows.add(result.extensions.replace(/^permessage-deflate;?\s*/, '') || '(defaults)')
    }
  }
  t.ok(sessions > 0, `${pairing.name}: ${sessions} sessions (${deflated} with deflate), ${messages} messages, ` +
    `${(bytes / 2 ** 20).toFixed(1)} MiB each way, all echoed intact and in order`)
  t.comment(`${pairing.name}: deflate settings met: ${[...windows].join(' | ')}`)
}

t.test('echoes of random bursts match byte for byte and in order between peers in separate processes', async t => {
  const perPairing = seconds * 1000 / PAIRINGS.length
  for (const [i, pairing] of PAIRINGS.entries()) {
    if (only !== null && only[1] !== 'abc'[i]) continue
    await t.test(pairing.name, t => soak(t, pairing, i, perPairing))
  }
})
