import t from 'tap'
import { WebSocketError, errorCodes, errorSpec } from '../lib/errors'

t.test('every error code is prefixed WS_ERR_ and unique', async t => {
  t.equal(new Set(errorCodes).size, errorCodes.length)
  for (const code of errorCodes) t.match(code, /^WS_ERR_[A-Z0-9_]+$/)
})

t.test('a protocol error carries the close code it fails the connection with', async t => {
  const err = new WebSocketError('WS_ERR_INVALID_UTF8', 'at byte 3')
  t.equal(err.code, 'WS_ERR_INVALID_UTF8')
  t.equal(err.closeCode, 1007)
  t.match(err.message, /at byte 3/)
  t.ok(err instanceof Error)
})

t.test('every close code an error maps to is one RFC 6455 allows a peer to send', async t => {
  for (const code of errorCodes) {
    const c = errorSpec(code).closeCode
    if (c === undefined || c === 1006) continue // 1006 is only reported locally, never sent
    t.ok((c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014), `${code} -> ${c}`)
  }
})
