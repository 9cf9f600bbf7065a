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
