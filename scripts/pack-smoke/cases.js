'use strict'
// What scripts/pack-smoke.js writes into the empty project: the README's first example in each
// module flavour (followed by a client that checks the echo), and the import forms to type-check.

/** The first ```js block of the README. */
function firstExample (readme) {
  const m = /```js\n([\s\S]*?)```/.exec(readme)
  if (m === null) throw new Error('the README has no ```js block')
  if (!/port: 3000/.test(m[1])) throw new Error('the README\'s first example no longer listens on port 3000: update scripts/pack-smoke/cases.js')
  // loopback and a free port: CI machines run several jobs
  return m[1].replace('port: 3000', "port: 0, host: '127.0.0.1'")
}

// A client of the example's /echo route; `connect` comes from the package's /client entry.
const check = (addressCast) => `
const ws = await connect(\`ws://127.0.0.1:\${(app.server.address()${addressCast}).port}/echo\`)
const reply = await new Promise((resolve, reject) => {
  ws.once('message', (data, isBinary) => resolve(String(data) + (isBinary ? ' (binary)' : '')))
  ws.once('error', reject)
  ws.send('hello')
})
ws.close()
await app.close()
if (reply !== 'hello') throw new Error('the echo route answered ' + reply)
console.log('echo ok')
`

/** `import X from 'Y'` lines become require()s, the rest runs in an async function. */
function toCommonJs (esm, requireForm) {
  const imports = []
  const body = esm.replace(/^import (\w+) from '([^']+)'\n/gm, (_, name, from) => {
    imports.push(requireForm ? `import ${name} = require('${from}')` : `const ${name} = require('${from}')`)
    return ''
  })
  return { imports: imports.join('\n'), body }
}

const indent = (s) => s.trim().split('\n').map(l => l === '' ? l : '  ' + l).join('\n')

const strict = { strict: true, noImplicitAny: true, target: 'es2022', types: ['node'], skipLibCheck: false }

function runnable (example) {
  const cjs = toCommonJs(example, false)
  const cts = toCommonJs(example, true)
  return [
    {
      what: 'ESM (example.mjs)',
      file: 'example.mjs',
      source: `${example}\nconst { connect } = await import('fastify-rfc6455/client')\n${check('')}`
    },
    {
      what: 'CommonJS (example.cjs)',
      file: 'example.cjs',
      source: `${cjs.imports}\nconst { connect } = require('fastify-rfc6455/client')\n\nasync function main () {\n${indent(cjs.body + check(''))}\n}\nmain().catch(err => { console.error(err); process.exit(1) })\n`
    },
    {
      what: 'strict TypeScript, ESM (example.mts, module node16)',
      file: 'example.mts',
      compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16' },
      source: `${example}\nimport { connect } from 'fastify-rfc6455/client'\n${check(" as import('node:net').AddressInfo")}`
    },
    {
      what: 'strict TypeScript, CommonJS with import = require (example.cts, module node16)',
      file: 'example.cts',
      compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16' },
      source: `${cts.imports}\nimport client = require('fastify-rfc6455/client')\nconst { connect } = client\n\nasync function main (): Promise<void> {\n${indent(cts.body + check(" as import('node:net').AddressInfo"))}\n}\nmain().catch((err: unknown) => { console.error(err); process.exit(1) })\n`
    }
  ]
}

// Every import form a user writes, and a use of each export that only type-checks when it has the
// right type (the plugin is registrable, handlers' parameters are the socket and the request).
const requireForm = `import Fastify = require('fastify')
import websocket = require('fastify-rfc6455')
import client = require('fastify-rfc6455/client')
import engine = require('fastify-rfc6455/engine')

const app = Fastify()
app.register(websocket, { maxPayload: 1024 })
app.register(websocket.fastifyRfc6455)
app.register(websocket.default)
app.get('/a', { websocket: true }, (socket, request) => {
  socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) })
  request.log.info(request.url)
})
const options: websocket.WebSocketPluginOptions = { maxPayload: 1 }
const handler: websocket.WebSocketHandler = (socket, request) => { socket.close(1000, request.url) }
const open: Promise<client.WebSocket> = client.connect('ws://127.0.0.1:1/')
const sameClass: typeof websocket.WebSocket = client.WebSocket
const code: number = engine.CLOSE_NORMAL
export { options, handler, open, sameClass, code }
`

const importForm = `import Fastify from 'fastify'
import websocket, { fastifyRfc6455, WebSocket, type WebSocketPluginOptions, type WebSocketHandler } from 'fastify-rfc6455'
import { connect, WebSocket as ClientWebSocket, type ClientOptions } from 'fastify-rfc6455/client'
import { Connection, CLOSE_NORMAL } from 'fastify-rfc6455/engine'

const app = Fastify()
app.register(websocket, { maxPayload: 1024 })
app.register(fastifyRfc6455)
app.get('/a', { websocket: true }, (socket, request) => {
  socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) })
  request.log.info(request.url)
})
const options: WebSocketPluginOptions = { maxPayload: 1 }
const handler: WebSocketHandler = (socket, request) => { socket.close(1000, request.url) }
const clientOptions: ClientOptions = {}
const open: Promise<WebSocket> = connect('ws://127.0.0.1:1/', clientOptions)
const sameClass: typeof WebSocket = ClientWebSocket
const engineClass: typeof Connection = Connection
const code: number = CLOSE_NORMAL
export { options, handler, open, sameClass, engineClass, code }
`

function typeChecks () {
  const base = { ...strict, noEmit: true, esModuleInterop: true }
  return [
    { name: 'node10', compilerOptions: { ...base, module: 'commonjs', moduleResolution: 'node10' }, files: { 'require.ts': requireForm, 'import.ts': importForm } },
    { name: 'node16', compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16' }, files: { 'require.cts': requireForm, 'import.mts': importForm, 'import.cts': importForm } },
    { name: 'bundler', compilerOptions: { ...base, module: 'preserve', moduleResolution: 'bundler' }, files: { 'require.ts': requireForm, 'import.ts': importForm } }
  ]
}

// The ESM entries must export every name the CommonJS ones do (esm/*.mjs list them by hand).
const sameExports = `
import { createRequire } from 'node:module'
const require = createRequire(process.cwd() + '/')
for (const sub of ['', '/client', '/engine']) {
  const esm = Object.keys(await import('fastify-rfc6455' + sub))
  const cjs = Object.keys(require('fastify-rfc6455' + sub)).filter(k => k !== 'default' && k !== '__esModule')
  const missing = cjs.filter(k => !esm.includes(k))
  if (missing.length > 0) throw new Error('fastify-rfc6455' + sub + ' as ESM lacks ' + missing.join(', '))
}
`

module.exports = { firstExample, runnable, typeChecks, sameExports }
