'use strict'
// Session tokens: base64url(JSON payload) + '.' + base64url(HMAC-SHA256(secret, payload part)).
// Stateless, so any process holding the secret can check them; they expire on their own.
// A browser cannot set headers such as Authorization on a WebSocket handshake, but it does send
// the subprotocols it offers: the page offers `chat.v1` and `token.<token>`, and the server picks
// `chat.v1` (RFC 6455 section 4.2.2), so the token never appears in a URL, a log line or the 101.
const { createHmac, randomBytes, timingSafeEqual } = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

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

/** The Sec-WebSocket-Protocol element carrying the token is this prefix and the token. */
const TOKEN_PROTOCOL_PREFIX = 'token.'

/** The subprotocols offered in a Sec-WebSocket-Protocol header (several lines count as one list). */
function offeredProtocols (header) {
  if (header === undefined) return []
  const lines = Array.isArray(header) ? header : [header]
  return lines.flatMap(line => line.split(',')).map(p => p.trim()).filter(p => p !== '')
}

/** The token offered as a subprotocol, or undefined. */
function tokenFromProtocols (offered) {
  const element = offered.find(p => p.startsWith(TOKEN_PROTOCOL_PREFIX))
  return element === undefined ? undefined : element.slice(TOKEN_PROTOCOL_PREFIX.length)
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
function bearerToken (header) {
  const m = typeof header === 'string' ? /^Bearer +(\S+)$/i.exec(header) : null
  return m === null ? undefined : m[1]
}

/** Shortest secret accepted from a file: 128 bits as hex. */
const MIN_SECRET_LENGTH = 32

/**
 * The HMAC key kept in `file`, so that a restart of the demo does not log everyone out; created
 * on first use (32 random bytes as hex, mode 0600, its folder 0700). Several processes starting
 * at once agree on one key: each writes a file of its own and links it into place, which only
 * the first can do (link fails if the name exists), and all then read the winner's.
 * A file that others may read, or that holds too short a key, is refused rather than used.
 *
 * @param {string} file
 * @returns {{ secret: string, created: boolean }}
 */
function secretFromFile (file) {
  let created = false
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
    fs.writeFileSync(draft, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
    try {
      fs.linkSync(draft, file)
      created = true
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
    } finally {
      fs.unlinkSync(draft)
    }
  }
  // permission bits mean little on Windows; elsewhere a key others can read signs their tokens too
  const mode = fs.statSync(file).mode & 0o777
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new Error(`${file} holds the session secret but others may read it (mode ${mode.toString(8)}): chmod 600 it, or delete it to have a new one made`)
  }
  const secret = fs.readFileSync(file, 'utf8').trim()
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`${file} holds a session secret of ${secret.length} characters, fewer than ${MIN_SECRET_LENGTH}: delete it to have a new one made`)
  }
  return { secret, created }
}

/** What the page shows for each refusal. */
const REFUSALS = {
  missing: 'you are not logged in',
  malformed: 'your session is not valid, log in again',
  'bad-signature': 'your session is not valid (the server may have a new key), log in again',
  expired: 'your session expired, log in again'
}

module.exports = { createTokens, secretFromFile, offeredProtocols, tokenFromProtocols, bearerToken, TOKEN_PROTOCOL_PREFIX, REFUSALS }
