'use strict'
// Observability for the chat demo: GET /metrics (Prometheus text format, from the plugin's
// always-on counters) and GET /api/stats (the few figures the page's live panel shows).
const { prometheusText, PROMETHEUS_CONTENT_TYPE } = require('fastify-rfc6455')

async function metrics (app) {
  app.get('/metrics', async (_req, reply) => {
    reply.type(PROMETHEUS_CONTENT_TYPE)
    return prometheusText(app.websocketStats())
  })
  // the panel works out messages per second from two readings of these running totals
  app.get('/api/stats', async () => {
    const stats = app.websocketStats()
    return { at: Date.now(), open: stats.open, messagesIn: stats.messagesIn, messagesOut: stats.messagesOut }
  })
}

module.exports = { metrics }
