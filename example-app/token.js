'use strict'
// Session tokens: base64url(JSON payload) + '.' + base64url(HMAC-SHA256(secret, payload part)).
// Stateless, so any process holding the secret can check them; they expire on their own.
// A browser cannot set headers on a WebSocket handshake, so the page sends the token in the
// query string (over TLS in production: query strings end up in access logs, hence short lives).
const { createHmac, randomBytes, timingSafeEqual } = require('node:crypto')

const MAX_TOKEN_LENGTH = 512

/**
 * @param {string | Buffer | undefined} secret the HMAC key; a random one per process if absent
 * @param {number} ttlMs how long a token lives
 */
function createTokens (secret, ttlMs) {
  const key = secret === undefined || secret === '' ? randomBytes(32) : Buffer.from(secret)

  function signature (payloadPart) {
    return createHmac('sha256', key).update(payloadPart).digest('base64url')
  }

  return {
    /** A token for `nickname`, valid until `expiresAt` (ms since the epoch). */
    sign (nickname, expiresAt = Date.now() + ttlMs) {
      const payloadPart = Buffer.from(JSON.stringify({ n: nickname, exp: expiresAt })).toString('base64url')
      return { token: `${payloadPart}.${signature(payloadPart)}`, expiresAt }
    },

    /**
     * @returns {{ ok: true, nickname: string, expiresAt: number } |
     *           { ok: false, reason: 'missing' | 'malformed' | 'bad-signature' | 'expired' }}
     */
    verify (token, now = Date.now()) {
      if (typeof token !== 'string' || token === '') return { ok: false, reason: 'missing' }
      const dot = token.indexOf('.')
      if (token.length > MAX_TOKEN_LENGTH || dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed' }
      const payloadPart = token.slice(0, dot)
      const given = Buffer.from(token.slice(dot + 1), 'base64url')
      const expected = Buffer.from(signature(payloadPart), 'base64url')
      // compare in constant time, so the signature cannot be guessed byte by byte
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' }
      let payload
      try {
        payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString())
      } catch {
        return { ok: false, reason: 'malformed' }
      }
      if (typeof payload !== 'object' || payload === null || typeof payload.n !== 'string' || typeof payload.exp !== 'number') {
        return { ok: false, reason: 'malformed' }
      }
      if (payload.exp <= now) return { ok: false, reason: 'expired' }
      return { ok: true, nickname: payload.n, expiresAt: payload.exp }
    }
  }
}

/** What the page shows for each refusal. */
const REFUSALS = {
  missing: 'you are not logged in',
  malformed: 'your session is not valid, log in again',
  'bad-signature': 'your session is not valid (the server may have restarted), log in again',
  expired: 'your session expired, log in again'
}

module.exports = { createTokens, REFUSALS }
