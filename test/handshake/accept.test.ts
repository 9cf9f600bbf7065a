import t from 'tap'
import { createHash } from 'node:crypto'
import { computeAccept, generateKey } from '../../lib/handshake/accept'

t.test('the RFC 6455 section 1.3 sample key yields the sample accept value', async t => {
  t.equal(computeAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
})

t.test('the accept value is base64 of SHA-1 over the key text and the GUID, not the decoded key', async t => {
  const key = 'AQIDBAUGBwgJCgsMDQ4PEA=='
  const expected = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
  t.equal(computeAccept(key), expected)
  t.not(computeAccept(key), computeAccept('AQIDBAUGBwgJCgsMDQ4PEQ=='), 'a different key gives a different accept')
})

t.test('generated keys are 16 random bytes in base64 and differ each time', async t => {
  const keys = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const key = generateKey()
    t.match(key, /^[A-Za-z0-9+/]{22}==$/)
    t.equal(Buffer.from(key, 'base64').length, 16)
    keys.add(key)
  }
  t.equal(keys.size, 200, 'no repeated nonce')
})
