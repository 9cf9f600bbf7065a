// The Sec-WebSocket-Key / Sec-WebSocket-Accept pair of the opening handshake.
import { createHash, randomBytes } from 'node:crypto'
import { GUID } from '../engine/constants'

/**
 * The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64 of the SHA-1 of the key
 * (as sent, not decoded) followed by the protocol GUID (RFC 6455 section 4.2.2, step 5.4; the
 * sample key `dGhlIHNhbXBsZSBub25jZQ==` of section 1.3 gives `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`).
 */
export function computeAccept (key: string): string {
  return createHash('sha1').update(key + GUID, 'latin1').digest('base64')
}

/**
 * A fresh Sec-WebSocket-Key for a client handshake: 16 random bytes, base64 encoded.
 * RFC 6455 section 4.1: the nonce MUST be randomly selected for each connection.
 */
export function generateKey (): string {
  return randomBytes(16).toString('base64')
}
