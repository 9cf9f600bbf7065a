'use strict'
// A JSON chat-message echo on our library, two ways side by side (the echo-json row):
//   node bench/servers/json-ours.js --port N --validate schema   the route's websocket.schema:
//     Fastify's ajv validates each message, fast-json-stringify writes the reply
//   node bench/servers/json-ours.js --port N --validate hand     JSON.parse, checks written by
//     hand (the same rules as the schema), JSON.stringify
// Both echo the message (bench/load/frames.js jsonPayloadOf) byte for byte, and refuse (close
// 1008) what the other would refuse. Exits with code 3 and a SKIP line when dist/ is not built.
const fs = require('node:fs')
const path = require('node:path')
const { arg, portFromArgs, printReady, skip, exitOnSignals } = require('./common')

const dist = path.join(__dirname, '..', '..', 'dist', 'index.js')
if (!fs.existsSync(dist)) skip('dist/index.js does not exist (run npm run build)')

const Chat = {
  type: 'object',
  required: ['type', 'room', 'text'],
  additionalProperties: false,
  properties: {
    type: { enum: ['say', 'join', 'leave'] },
    room: { type: 'string', minLength: 1, maxLength: 32 },
    text: { type: 'string', maxLength: 2000 }
  }
}

const TYPES = new Set(['say', 'join', 'leave'])

/** The schema above, by hand. */
function checkByHand (msg) {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'expected an object'
  if (!TYPES.has(msg.type)) return 'bad type'
  if (typeof msg.room !== 'string' || msg.room.length < 1 || msg.room.length > 32) return 'bad room'
  if (typeof msg.text !== 'string' || msg.text.length > 2000) return 'bad text'
  for (const key in msg) if (key !== 'type' && key !== 'room' && key !== 'text') return 'unexpected property'
  return null
}

async function main () {
  const Fastify = require('fastify')
  const lib = require(dist)
  const plugin = lib.default ?? lib
  const mode = arg('validate')
  if (mode !== 'schema' && mode !== 'hand') throw new Error('--validate schema|hand')
  const app = Fastify({ logger: false })
  await app.register(plugin, { maxPayload: 64 * 1024 })
  if (mode === 'schema') {
    app.get('/', {
      websocket: {
        schema: { message: Chat, send: Chat },
        message (socket, msg) { socket.send(msg) }
      }
    })
  } else {
    app.get('/', {
      websocket: {
        message (socket, data, isBinary) {
          if (isBinary) return socket.close(1003)
          let msg
          try { msg = JSON.parse(data.toString()) } catch { return socket.close(1007) }
          const why = checkByHand(msg)
          if (why !== null) return socket.close(1008, why)
          socket.send(JSON.stringify(msg))
        }
      }
    })
  }
  await app.listen({ port: portFromArgs(), host: '127.0.0.1' })
  exitOnSignals()
  printReady(`json-${mode}`, app.server.address().port, { validate: mode })
}

main().catch(err => { console.error(err); process.exit(1) })
