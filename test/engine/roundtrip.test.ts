// Property: any sequence of messages (text, binary, empty, fragmented, with interleaved pings),
// written by one role's engine and parsed by the other's in random splits, comes back identical.
import t from 'tap'
import fc from 'fast-check'
import { FrameWriter } from '../../lib/engine/serializer'
import { makeConnection } from '../helpers/engine-host'
import type { Role } from '../../lib/engine/constants'

const message = fc.oneof(
  fc.record({ binary: fc.constant(false), text: fc.string({ unit: 'grapheme', maxLength: 300 }), fragments: fc.integer({ min: 1, max: 5 }), pingAfter: fc.boolean() }),
  fc.record({ binary: fc.constant(true), bytes: fc.uint8Array({ maxLength: 70000 }), fragments: fc.integer({ min: 1, max: 5 }), pingAfter: fc.boolean() })
)

function roundTrip (sender: Role, receiver: Role): void {
  fc.assert(fc.property(fc.array(message, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (msgs, cutSeeds) => {
    const writer = new FrameWriter(sender)
    const expected: string[] = []
    let pings = 0
    for (const m of msgs) {
      const payload = m.binary ? Buffer.from((m as { bytes: Uint8Array }).bytes) : Buffer.from((m as { text: string }).text)
      const opcode = m.binary ? 2 : 1
      const step = Math.max(1, Math.ceil(payload.length / m.fragments))
      let first = true
      let at = 0
      do {
        const end = Math.min(payload.length, at + step)
        writer.frame(first ? opcode : 0, end === payload.length, false, payload.subarray(at, end))
        if (m.pingAfter && first && end !== payload.length) { writer.frame(9, true, false, Buffer.from('p')); pings++ }
        first = false
        at = end
      } while (at < payload.length)
      expected.push(`${m.binary ? 'b' : 't'}:${payload.toString('hex')}`)
    }
    const wire = Buffer.concat(writer.take() ?? [Buffer.alloc(0)])
    const { conn, host } = makeConnection({ role: receiver, maxPayload: 1 << 20 })
    const cuts = cutSeeds.map(s => s % (wire.length + 1)).sort((a, b) => a - b)
    let last = 0
    for (const cut of [...cuts, wire.length]) {
      if (cut <= last) continue
      conn.receive(Buffer.from(wire.subarray(last, cut)))
      last = cut
    }
    const got = host.rec.messages.map(r => `${r.isBinary ? 'b' : 't'}:${r.data.toString('hex')}`)
    return host.rec.errors.length === 0 && JSON.stringify(got) === JSON.stringify(expected) && host.rec.pings.length === pings
  }), { numRuns: 150 })
}

t.test('messages written by a client come back identical from a server parsing random splits', async t => {
  roundTrip('client', 'server')
  t.pass()
})

t.test('messages written by a server come back identical from a client parsing random splits', async t => {
  roundTrip('server', 'client')
  t.pass()
})
