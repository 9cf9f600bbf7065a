// Close status codes (RFC 6455 section 7.4). 1004, 1005, 1006 and 1015 are reserved and MUST NOT
// be sent in a close frame (section 7.4.1), so an endpoint receiving one fails the connection;
// 1016-2999 are reserved for future protocol use; 3000-4999 are for libraries and applications.
// 1012-1014 are registered with IANA (service restart, try again later, bad gateway).

/** Whether `code` may appear in a close frame on the wire. */
export function isValidCloseCode (code: number): boolean {
  return (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
}

const NO_BODY = Buffer.alloc(0)

/** A close frame's body (section 5.5.1): the 2-byte code then the reason; empty for code 0 (none). */
export function closePayload (code: number, reason: Uint8Array | string): Buffer {
  if (code === 0) return NO_BODY
  const reasonBytes = typeof reason === 'string' ? Buffer.from(reason) : reason
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length)
  payload.writeUInt16BE(code, 0)
  payload.set(reasonBytes, 2)
  return payload
}
