'use strict'
// `npm run demo`: the chat demo on its embedded defaults (in-process pub/sub, no Redis, no set-up).
//   PORT (3000), HOST (127.0.0.1), NODE_ENV=production for JSON logs.
//   SECRET: the key that signs session tokens. Unset, the key is kept in SECRET_FILE
//   (example-app/.secret, git-ignored), made on first run with mode 0600, so that a restart does
//   not log everyone out; delete that file to do so.
//   REDIS_URL (unset: in-process pub/sub, room topics resumable): e.g. redis://127.0.0.1:6379 to run several processes
//   behind a load balancer sharing the rooms' messages through Redis (fastify-rfc6455's redisAdapter;
//   its built-in client has no resume: a reconnect gets the welcome's history only).
//   HTTPS_KEY, HTTPS_CERT (unset: plain http): PEM files to serve over https with HTTP/2, where
//   browsers open the chat's WebSockets as streams of the page's connection (RFC 8441).
const path = require('node:path')
const { readFileSync } = require('node:fs')
const { redisAdapter } = require('fastify-rfc6455')
const { buildApp } = require('./app')
const { secretFromFile } = require('./token')

/** The key for session tokens and where it came from (for the log; never the key itself). */
function sessionSecret () {
  if (process.env.SECRET) return { secret: process.env.SECRET, from: 'SECRET' }
  const file = path.resolve(process.env.SECRET_FILE || path.join(__dirname, '.secret'))
  const { secret, created } = secretFromFile(file)
  return { secret, from: created ? `${file} (made now)` : file }
}

function loggerOptions () {
  const pretty = process.env.NODE_ENV !== 'production' && process.stdout.isTTY === true
  if (!pretty) return { level: process.env.LOG_LEVEL ?? 'info' }
  return {
    level: process.env.LOG_LEVEL ?? 'info',
    transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } }
  }
}

async function main () {
  const port = Number(process.env.PORT ?? 3000)
  const host = process.env.HOST ?? '127.0.0.1'
  const redisUrl = process.env.REDIS_URL
  const { secret, from: secretFrom } = sessionSecret()
  // the adapter exists before the app (the plugin needs it); its log lines go to the app's logger
  let app = null
  const logger = {
    info: (obj, msg) => app?.log.info(obj, msg),
    warn: (obj, msg) => app?.log.warn(obj, msg),
    error: (obj, msg) => app?.log.error(obj, msg)
  }
  const pubsub = redisUrl ? redisAdapter({ url: redisUrl, logger }) : undefined
  const https = process.env.HTTPS_KEY && process.env.HTTPS_CERT
    ? { key: readFileSync(process.env.HTTPS_KEY), cert: readFileSync(process.env.HTTPS_CERT) }
    : undefined
  app = await buildApp({ logger: loggerOptions(), secret, pubsub, https })
  app.log.info({ secretFrom }, 'session token key loaded')

  // Server settings that matter for WebSockets (README, "Production"): a connection that never
  // completes a request (connects and sends nothing, or half a request) is dropped within
  // seconds instead of holding a file descriptor; none of these touches a socket once it is
  // upgraded. Fastify's own options (connectionTimeout, requestTimeout, keepAliveTimeout,
  // http: { headersTimeout }) set the same; these are set here, on the server buildApp made.
  const server = app.server
  // on HTTP/2 this idle timeout would apply to a whole connection, its WebSockets included
  if (https === undefined) server.setTimeout(10_000) // Fastify's connectionTimeout: a connection silent this long is destroyed
  server.headersTimeout = 5_000 // the request head, whatever trickles in (slowloris)
  server.requestTimeout = 10_000 // a whole request, body included
  server.keepAliveTimeout = 5_000 // an idle keep-alive connection between requests
  server.connectionsCheckingInterval = 1_000 // how often the two above are checked (read at listen)

  // Graceful shutdown: app.close() refuses new upgrades, closes every socket with 1001 Going
  // Away and waits for the closing handshakes (bounded by closeTimeout). A second signal exits now.
  let closing = false
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      if (closing) process.exit(1)
      closing = true
      app.log.info({ signal, sockets: app.websocketClients.size }, 'shutting down')
      app.close().then(() => process.exit(0), err => {
        app.log.error({ err }, 'shutdown failed')
        process.exit(1)
      })
    })
  }

  await app.listen({ port, host })
  const shown = host.includes(':') ? `[${host}]` : host
  // printed plainly too, so the URL is easy to spot (and to parse) whatever the log format
  process.stdout.write(`\nchat demo: http${https === undefined ? '' : 's'}://${shown}:${app.server.address().port}/\n\n`)
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
