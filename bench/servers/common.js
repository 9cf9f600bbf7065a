'use strict'
// Shared helpers for the benchmark servers: port from argv/env, ready line, clean exit.

/** Value of `--name V` on the command line, or undefined. */
function arg (name) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}

/** Port from `--port N`, env PORT, or 0 (the kernel picks one; the ready line shows it). */
function portFromArgs () {
  const raw = arg('port') ?? process.env.PORT ?? '0'
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`bad port: ${raw}`)
    process.exit(2)
  }
  return port
}

/** The one line the runner (and a human) waits for: `ready ws://127.0.0.1:PORT/ name=... pid=...`. */
function printReady (name, port, extra = {}) {
  const fields = Object.entries({ name, pid: process.pid, node: process.version, ...extra })
    .map(([k, v]) => `${k}=${v}`).join(' ')
  process.stdout.write(`ready ws://127.0.0.1:${port}/ ${fields}\n`)
}

/** Servers that cannot run yet (the library is not built, an API is missing) exit with this code. */
const SKIP_EXIT_CODE = 3

function skip (reason) {
  process.stdout.write(`SKIP: ${reason}\n`)
  process.exit(SKIP_EXIT_CODE)
}

/** Exit on SIGTERM/SIGINT without waiting for connections: the runner kills servers between runs. */
function exitOnSignals () {
  for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => process.exit(0))
}

module.exports = { arg, portFromArgs, printReady, skip, exitOnSignals, SKIP_EXIT_CODE }
