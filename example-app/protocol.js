'use strict'
// The chat.v1 protocol: JSON text messages.
//
// client -> server   { "type": "message", "text": "1 to 2000 characters, not only spaces" }
// server -> client   { "type": "welcome", "room", "you", "members": [nick], "history": [message] }
//                    { "type": "message", "id", "from", "text", "at" }
//                    { "type": "join" | "leave", "nickname", "at" }
//                    { "type": "error", "error": "invalid-message", "message": "why" }   (to the sender only)

const MAX_TEXT = 2000

/**
 * What a client message must be: the chat route's `websocket.schema.message`, so the plugin
 * parses and validates each text message with Fastify's ajv before the handler sees it. ajv
 * counts characters (code points), as JSON Schema says, not UTF-16 units; Fastify's defaults
 * drop properties this schema does not name (a forged `from` never reaches the room).
 */
const clientMessageSchema = {
  type: 'object',
  required: ['type', 'text'],
  additionalProperties: false,
  properties: {
    type: { const: 'message' },
    // \S: at least one character that is not white space (a blank message is refused)
    text: { type: 'string', minLength: 1, maxLength: MAX_TEXT, pattern: '\\S' }
  }
}

/** The `error` event a client gets back for a message it should not have sent. */
function invalidMessageEvent (why) {
  return { type: 'error', error: 'invalid-message', message: why }
}

module.exports = { clientMessageSchema, invalidMessageEvent, MAX_TEXT }
