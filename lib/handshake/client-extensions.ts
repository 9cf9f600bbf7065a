// The client's extension negotiation, as one pluggable object: what to offer in the request and
// how to judge the server's Sec-WebSocket-Extensions answer. The result is what the socket is
// built with: the header value shown as `socket.extensions` and the codec handed to the engine.
// Used by connect() and by injectWS, so that both negotiate the same way.
import { PerMessageDeflate } from '../engine/deflate'
import {
  acceptPerMessageDeflateResponse, buildPerMessageDeflateOffer, formatNegotiatedDeflate, resolveDeflateOptions,
  type DeflateOptions
} from './extensions'
import { readDeflateParams, PERMESSAGE_DEFLATE } from './deflate-params'
import { parseExtensionHeader, type ExtensionOffer } from './extension-header'

/** What the handshake settled about extensions, passed into the client's WebSocket. */
export interface ClientExtensionAgreement {
  /** the agreed Sec-WebSocket-Extensions value ('' for none), exposed as `socket.extensions` */
  readonly header: string
  /** the permessage-deflate codec for the connection (ConnectionOptions.deflate), or null */
  readonly deflate: PerMessageDeflate | null
}

export interface ClientExtensions {
  /** the Sec-WebSocket-Extensions value to send, '' to offer nothing */
  offer (): string
  /**
   * Judge the server's Sec-WebSocket-Extensions (undefined when absent). RFC 6455 section 4.1
   * item 5 and section 9.1: an extension the client did not offer, or parameters it cannot
   * honour, MUST fail the connection.
   * @param maxPayload the client's message size limit, for an inflating codec
   * @throws WebSocketError WS_ERR_CLIENT_EXTENSION
   */
  accept (response: string | undefined, maxPayload: number): ClientExtensionAgreement
}

const NONE: ClientExtensionAgreement = Object.freeze({ header: '', deflate: null })

/**
 * Offer permessage-deflate (RFC 7692) with these options; accept the server's answer if it is one
 * we can honour (else WS_ERR_CLIENT_EXTENSION, close 1010), or go on without when it declines.
 */
export function deflateExtensions (options: DeflateOptions | true): ClientExtensions {
  resolveDeflateOptions(options) // validated now, before any connection is made
  const offer = buildPerMessageDeflateOffer(options)
  return {
    offer: () => offer,
    accept (response: string | undefined, maxPayload: number): ClientExtensionAgreement {
      const params = acceptPerMessageDeflateResponse(options, response)
      if (params === null) return NONE
      return { header: formatNegotiatedDeflate(params), deflate: new PerMessageDeflate(params, 'client', options, maxPayload) }
    }
  }
}

/** Offer no extension, and fail the connection if the server answers with any. */
export const noExtensions: ClientExtensions = Object.freeze({
  offer: () => '',
  accept (response: string | undefined): ClientExtensionAgreement {
    acceptPerMessageDeflateResponse(false, response) // throws for anything the server agreed to
    return NONE
  }
})

/**
 * Send `header`, an offer written out by hand (a test's own Sec-WebSocket-Extensions), as it is,
 * and judge the answer as a client that offered its first permessage-deflate element would.
 * An offer without a valid permessage-deflate element, or one that does not parse (kept so that
 * tests can see the server decline it), accepts no extension in the answer.
 */
export function extensionsForOffer (header: string): ClientExtensions {
  let offers: ExtensionOffer[] = []
  try {
    offers = parseExtensionHeader(header)
  } catch {}
  const deflate = offers.find(offer => offer.name === PERMESSAGE_DEFLATE)
  const asked = deflate === undefined ? 'no permessage-deflate offer' : readDeflateParams(deflate.params, true)
  const judge = typeof asked === 'string'
    ? noExtensions
    : deflateExtensions({
      serverNoContextTakeover: asked.serverNoContextTakeover,
      clientNoContextTakeover: asked.clientNoContextTakeover,
      serverMaxWindowBits: asked.serverMaxWindowBits,
      clientMaxWindowBits: typeof asked.clientMaxWindowBits === 'number' ? asked.clientMaxWindowBits : undefined
    })
  return { offer: () => header, accept: judge.accept }
}
