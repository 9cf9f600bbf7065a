// The Sec-WebSocket-Key / Sec-WebSocket-Accept pair of the opening handshake.
import * as crypto from 'node:crypto'
import { createHash, randomBytes } from 'node:crypto'
import { GUID } from '../engine/constants'

/**
 * The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64 of the SHA-1 of the key
 * (as sent, not decoded) followed by the protocol GUID (RFC 6455 section 4.2.2, step 5.4; the
 * sample key `dGhlIHNhbXBsZSBub25jZQ==` of section 1.3 gives `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`).
 */
export function computeAccept (key: string): string {
  return oneShotHash !== undefined ? oneShotHash('sha1', key + GUID, 'base64') : createHash('sha1').update(key + GUID, 'latin1').digest('base64')
}

/**
 * crypto.hash() (Node 20.12+, 21.7+): one call, no Hash object per handshake. The key is
 * base64 and the GUID ASCII, so its UTF-8 input is the same bytes as the latin1 one above.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash

/**
 * A fresh Sec-WebSocket-Key for a client handshake: 16 random bytes, base64 encoded.
 * RFC 6455 section 4.1: the nonce MUST be randomly selected for each connection.
 */
export function generateKey (): string {
  return randomBytes(16).toString('base64')
}
