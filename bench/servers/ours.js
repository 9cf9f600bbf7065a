'use strict'
// Our echo server: runs the library's own dist/bin/echo.js in THIS process (same pid, so the
// runner's CPU and RSS sampling sees the real server).
//   node bench/servers/ours.js --port N [--deflate] [--subscribed]
// --subscribed: a no-op subscriber on the per-message diagnostics channels (message:in/out), so
// every message is published; FASTIFY_RFC6455_COUNTERS=0 in the environment switches the
// per-message counters and channel checks off (the bench row that measures their cost).
// Exits with code 3 and a SKIP line when the library is not built yet.
const fs = require('node:fs')
const path = require('node:path')
const Module = require('node:module')
const { portFromArgs, skip } = require('./common')

const echo = path.join(__dirname, '..', '..', 'dist', 'bin', 'echo.js')
if (!fs.existsSync(echo)) skip(`${path.relative(process.cwd(), echo)} does not exist (run npm run build)`)

const args = ['--port', String(portFromArgs()), '--host', '127.0.0.1']
if (process.argv.includes('--deflate')) args.push('--deflate')
if (process.argv.includes('--subscribed')) {
  const dc = require('node:diagnostics_channel')
  const ignore = () => {}
  dc.subscribe('fastify-rfc6455:message:in', ignore)
  dc.subscribe('fastify-rfc6455:message:out', ignore)
}
// echo.js reads process.argv; runMain loads it as the main module, as `node dist/bin/echo.js` would.
process.argv = [process.execPath, echo, ...args]
Module.runMain()
