'use strict'
// The chat.v1 protocol: JSON text messages.
//
// client -> server   { "type": "message", "text": "1 to 2000 characters" }
// server -> client   { "type": "welcome", "room", "you", "members": [nick], "history": [message] }
//                    { "type": "message", "id", "from", "text", "at" }
//                    { "type": "join" | "leave", "nickname", "at" }
//                    { "type": "error", "error": "invalid-message", "message": "why" }   (to the sender only)

const MAX_TEXT = 2000

/** The JSON schema a client message must match, checked by `parseClientMessage`. */
const clientMessageSchema = {
  type: 'object',
  required: ['type', 'text'],
  additionalProperties: false,
  properties: {
    type: { const: 'message' },
    text: { type: 'string', minLength: 1, maxLength: MAX_TEXT }
  }
}

/**
 * Validate one client message by hand (it is small; the schema above documents it).
 * @returns {{ ok: true, text: string } | { ok: false, message: string }}
 */
function parseClientMessage (data, isBinary) {
  if (isBinary) return { ok: false, message: 'chat.v1 speaks JSON text messages, not binary' }
  let msg
  try {
    msg = JSON.parse(data.toString())
  } catch {
    return { ok: false, message: 'not JSON' }
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { ok: false, message: 'expected a JSON object' }
  if (msg.type !== 'message') return { ok: false, message: 'type must be "message"' }
  if (typeof msg.text !== 'string') return { ok: false, message: 'text must be a string' }
  for (const key of Object.keys(msg)) {
    if (!(key in clientMessageSchema.properties)) return { ok: false, message: `unexpected property ${JSON.stringify(key.slice(0, 40))}` }
  }
  // JSON Schema counts characters (code points), not UTF-16 units
  const length = [...msg.text].length
  if (length < 1 || msg.text.trim() === '') return { ok: false, message: 'text must not be empty' }
  if (length > MAX_TEXT) return { ok: false, message: `text is limited to ${MAX_TEXT} characters` }
  return { ok: true, text: msg.text }
}

module.exports = { parseClientMessage, clientMessageSchema, MAX_TEXT }
