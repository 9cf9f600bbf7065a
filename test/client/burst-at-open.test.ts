// The client reads what a server sends together with its 101: a server in another process sends
// 1,000 binary messages of 64 KiB the moment the connection opens (the demo's history of a busy
// room is of this kind), and our client must read every one, whole and in order, whatever part of
// them arrived in the read that carried the handshake response. Against our server and a plain
// `ws` server, over ws:// and wss://: 5 connections each (~5 s in all), WS_HEAVY=1: 20 each (~15-50 s).
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from '../../lib/client/connect'
import { forkPeer } from '../helpers/peer-process'

const COUNT = 1000
const SIZE = 64 * 1024
const RUNS = process.env.WS_HEAVY === '1' ? 20 : 5
const SILENCE_MS = 20_000
const FLOOD = join(__dirname, 'fixtures', 'flood-server.js')

/** the bytes flood-server.js sends as message i */
function floodMessage (i: number): Buffer {
  const buf = Buffer.allocUnsafe(SIZE)
  for (let j = 0; j < SIZE; j++) buf[j] = (i * 131 + j * 7 + (j >>> 8)) & 0xff
  buf.writeUInt32BE(i, 0)
  return buf
}
const expected = Array.from({ length: COUNT }, (_, i) => floodMessage(i))

function makeCertificate (t: Test): { key: string, cert: string } {
  const dir = t.testdir({})
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
    '-keyout', key, '-out', cert], { stdio: 'ignore', timeout: 20_000 })
  return { key, cert }
}

interface Outcome {
  received: number
  /** the first message that was not the expected one, with what came instead */
  firstWrong: { at: number, length: number, index: number | null, firstDifferentByte: number } | null
  closed: { code: number, reason: string } | null
  error: string | null
}

/** Open one connection and read until COUNT messages came, a wrong one came, it closed, or silence. */
async function readFlood (url: string, ca: Buffer | undefined): Promise<Outcome> {
  const ws = await connect(url, ca === undefined ? {} : { ca, servername: 'localhost' })
  const outcome: Outcome = { received: 0, firstWrong: null, closed: null, error: null }
  await new Promise<void>(resolve => {
    let timer = setTimeout(done, SILENCE_MS)
    function done (): void {
      clearTimeout(timer)
      resolve()
    }
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      clearTimeout(timer)
      timer = setTimeout(done, SILENCE_MS)
      const want = expected[outcome.received]
      if (outcome.firstWrong === null && (!isBinary || want === undefined || !want.equals(data))) {
        let diff = 0
        // eslint-disable-next-line no-unmodified-loop-condition -- a listener sets it while the loop awaits
        while (want !== undefined && diff < Math.min(want.length, data.length) && want[diff] === data[diff]) diff++
        outcome.firstWrong = { at: outcome.received, length: data.length, index: data.length >= 4 ? data.readUInt32BE(0) : null, firstDifferentByte: diff }
      }
      outcome.received++
      if (outcome.received === COUNT || outcome.firstWrong !== null) done()
    })
    ws.on('close', (code: number, reason: Buffer) => {
      outcome.closed = { code, reason: reason.toString() }
      done()
    })
    ws.on('error', (err: Error & { code?: string }) => { outcome.error = `${err.code ?? ''} ${err.message}` })
  })
  if (outcome.closed === null) {
    const closed = new Promise(resolve => ws.once('close', resolve))
    ws.close(1000)
    await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 5000))])
  }
  return outcome
}

const certificate = makeCertificate(t)

for (const impl of ['ours', 'ws'] as const) {
  for (const scheme of ['ws', 'wss'] as const) {
    const name = `${impl === 'ours' ? 'our server' : 'a ws server'} over ${scheme}://`
    t.test(`the client reads 1,000 messages of 64 KiB that ${name} sends with its 101, in order, ${RUNS} times of ${RUNS}`, async t => {
      const tls = scheme === 'wss' ? { key: certificate.key, cert: certificate.cert } : {}
      const server = forkPeer(FLOOD, { impl, count: String(COUNT), size: String(SIZE), ...tls })
      t.teardown(() => server.stop())
      const { port } = await server.next<{ port: number }>(20_000)
      const ca = scheme === 'wss' ? readFileSync(certificate.cert) : undefined
      let intact = 0
      for (let run = 1; run <= RUNS; run++) {
        const outcome = await readFlood(`${scheme}://127.0.0.1:${port}/`, ca)
        const ok = outcome.received === COUNT && outcome.firstWrong === null
        if (ok) intact++
        else {
          t.fail(`run ${run}: ${outcome.received} of ${COUNT} messages read`, { ...outcome, server: server.output().slice(-2000) })
        }
      }
      t.equal(intact, RUNS, `${intact} of ${RUNS} connections read all ${COUNT} messages whole and in order`)
    })
  }
}
