'use strict'
// CommonJS entry: require('fastify-rfc6455') is the plugin itself, with every named export on it
// (the Fastify convention), and `.default` for TypeScript's interop.
const mod = require('../dist/index.js')
module.exports = Object.assign(mod.default, mod)
