// The client's extension negotiation, as one pluggable object: what to offer in the request and
// how to judge the server's Sec-WebSocket-Extensions answer. The result is what the socket is
// built with: the header value shown as `socket.extensions` and the codec handed to the engine.
import { PerMessageDeflate } from '../engine/deflate'
import {
  acceptPerMessageDeflateResponse, buildPerMessageDeflateOffer, formatNegotiatedDeflate, resolveDeflateOptions,
  type DeflateOptions
} from '../handshake/extensions'

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
