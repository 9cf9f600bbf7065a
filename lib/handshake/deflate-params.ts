// The four parameters of permessage-deflate (RFC 7692 section 7), as offered by a client or
// answered by a server: which are known, which take a value, which values are valid, and how
// agreed parameters are written back into a header value.
import type { NegotiatedDeflate } from '../engine/deflate-options'

export const PERMESSAGE_DEFLATE = 'permessage-deflate'
export const SERVER_NO_CONTEXT_TAKEOVER = 'server_no_context_takeover'
export const CLIENT_NO_CONTEXT_TAKEOVER = 'client_no_context_takeover'
export const SERVER_MAX_WINDOW_BITS = 'server_max_window_bits'
export const CLIENT_MAX_WINDOW_BITS = 'client_max_window_bits'
export const MAX_WINDOW_BITS = 15

/** The four parameters of one permessage-deflate offer or response, or why they are invalid. */
export interface DeflateParams {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits: number | undefined
  /** `true` when present without a value (allowed in an offer only) */
  clientMaxWindowBits: number | true | undefined
}

/**
 * RFC 7692 section 7.1.2.1 and 7.1.2.2: window bits are a decimal integer 8..15 without leading
 * zeros (a quoted value is unquoted by the parser first).
 */
function parseWindowBits (value: string): number | undefined {
  if (value.length === 1 && value >= '8' && value <= '9') return Number(value)
  if (value.length === 2 && value[0] === '1' && value[1] >= '0' && value[1] <= '5') return Number(value)
  return undefined
}

/** Validate the parameters of one permessage-deflate element; a string is the reason it is not acceptable. */
export function readDeflateParams (params: ReadonlyArray<[string, string | true]>, isOffer: boolean): DeflateParams | string {
  const out: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined
  }
  const seen = new Set<string>()
  for (const [name, value] of params) {
    // RFC 7692 section 7: multiple parameters with the same name make the element invalid.
    if (seen.has(name)) return `duplicate parameter ${name}`
    seen.add(name)
    if (name === SERVER_NO_CONTEXT_TAKEOVER || name === CLIENT_NO_CONTEXT_TAKEOVER) {
      // RFC 7692 section 7.1.1.1 and 7.1.1.2: these parameters have no value.
      if (value !== true) return `${name} must not have a value`
      if (name === SERVER_NO_CONTEXT_TAKEOVER) out.serverNoContextTakeover = true
      else out.clientNoContextTakeover = true
    } else if (name === SERVER_MAX_WINDOW_BITS) {
      // RFC 7692 section 7.1.2.1: a value is required, in offers and responses alike.
      const bits = value === true ? undefined : parseWindowBits(value)
      if (bits === undefined) return `invalid ${name} value`
      out.serverMaxWindowBits = bits
    } else if (name === CLIENT_MAX_WINDOW_BITS) {
      // RFC 7692 section 7.1.2.2: the value may be omitted in an offer, not in a response.
      if (value === true && isOffer) {
        out.clientMaxWindowBits = true
      } else {
        const bits = value === true ? undefined : parseWindowBits(value)
        if (bits === undefined) return `invalid ${name} value`
        out.clientMaxWindowBits = bits
      }
    } else {
      // RFC 7692 section 7: a parameter not defined for this extension makes it unacceptable.
      return `unknown parameter ${name}`
    }
  }
  return out
}

export function formatDeflateParams (n: NegotiatedDeflate, sendServerBits: boolean, sendClientBits: boolean): string {
  let header = PERMESSAGE_DEFLATE
  if (n.serverNoContextTakeover) header += `; ${SERVER_NO_CONTEXT_TAKEOVER}`
  if (n.clientNoContextTakeover) header += `; ${CLIENT_NO_CONTEXT_TAKEOVER}`
  if (sendServerBits) header += `; ${SERVER_MAX_WINDOW_BITS}=${n.serverMaxWindowBits}`
  if (sendClientBits) header += `; ${CLIENT_MAX_WINDOW_BITS}=${n.clientMaxWindowBits}`
  return header
}
