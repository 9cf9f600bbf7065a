'use strict'
// GET /metrics in Prometheus's text format, built on the always-on counters (no dependency).
const { prometheusText, PROMETHEUS_CONTENT_TYPE } = require('fastify-rfc6455')

async function metricsRoute (app) {
  app.get('/metrics', async (_request, reply) => {
    reply.type(PROMETHEUS_CONTENT_TYPE)
    return prometheusText(app.websocketStats())
  })
}

module.exports = { metricsRoute }
