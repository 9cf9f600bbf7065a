// Random bytes into the engine (bounded runs): nothing throws past the defined error path, every
// failure carries a close code a peer may send, and memory held stays within the limit.
import t from 'tap'
import fc from 'fast-check'
import { makeConnection } from '../helpers/engine-host'
import { isValidCloseCode } from '../../lib/engine/close-codes'
import { frame } from '../helpers/frames'

const arbitraryFrame = fc.record({
  opcode: fc.integer({ min: 0, max: 15 }),
  fin: fc.boolean(),
  rsv: fc.integer({ min: 0, max: 7 }),
  payload: fc.uint8Array({ maxLength: 300 }),
  mask: fc.boolean()
}).map(f => frame({ ...f, mask: f.mask ? Buffer.from([1, 2, 3, 4]) : undefined }))

for (const role of ['server', 'client'] as const) {
  t.test(`random bytes and random frames never throw out of a ${role} connection`, async t => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), arbitraryFrame), { maxLength: 20 }), chunks => {
      const maxPayload = 512
      const { conn, host } = makeConnection({ role, maxPayload })
      for (const c of chunks) conn.receive(Buffer.from(c))
      const assembler = (conn as unknown as { receiver: { assembler: { length: number } } }).receiver.assembler
      if (assembler.length > maxPayload) return false
      for (const err of host.rec.errors) {
        if (err.closeCode === undefined || !isValidCloseCode(err.closeCode)) return false
      }
      return host.rec.errors.length <= 1
    }), { numRuns: 4000 })
    t.pass()
  })
}
