'use strict'
// Preloaded (`node --require scripts/peer/hook.cjs <their test file>`) to run @fastify/websocket's
// own test files, unchanged, against this plugin:
// - `require('@fastify/websocket')` anywhere, and `require('..')` / `require('../')` from a file of
//   its test/ directory, resolve to our CommonJS entry (cjs/index.cjs, built from dist/);
// - `require('node:test')` from its test files gets a `test` that registers only the test chosen by
//   PEER_TEST_INDEX (0-based, in file order), so each test runs alone in its own process; with
//   PEER_LIST=1 it registers none and prints each test's name as one JSON line instead.
// PEER_TARGET=peer skips the redirect (the harness run against the real plugin: a check of it).
const Module = require('node:module')
const path = require('node:path')

const peerRoot = path.dirname(require.resolve('@fastify/websocket/package.json'))
const peerTests = path.join(peerRoot, 'test') + path.sep
const ours = path.resolve(__dirname, '..', '..', 'cjs', 'index.cjs')
const redirect = process.env.PEER_TARGET !== 'peer'

const fromPeerTests = (parent) => parent != null && typeof parent.filename === 'string' && parent.filename.startsWith(peerTests)

const resolve = Module._resolveFilename
Module._resolveFilename = function (request, parent, ...rest) {
  if (redirect && (request === '@fastify/websocket' ||
      (fromPeerTests(parent) && (request === '..' || request === '../' || request === '../index' || request === '../index.js')))) {
    return ours
  }
  return resolve.call(this, request, parent, ...rest)
}

const load = Module._load
let selecting = null
Module._load = function (request, parent, ...rest) {
  const mod = load.call(this, request, parent, ...rest)
  if ((request === 'node:test' || request === 'test') && fromPeerTests(parent)) {
    selecting ??= selector(mod)
    return selecting
  }
  return mod
}

/** node:test's exports with `test` replaced by one that keeps a single test (or lists them). */
function selector (nodeTest) {
  const list = process.env.PEER_LIST === '1'
  const chosen = Number(process.env.PEER_TEST_INDEX ?? -1)
  let index = 0
  function test (name, ...args) {
    const i = index++
    if (list) {
      process.stdout.write(JSON.stringify({ index: i, name }) + '\n')
      return Promise.resolve()
    }
    return i === chosen ? nodeTest.test(name, ...args) : Promise.resolve()
  }
  return Object.assign(Object.create(nodeTest), { test, default: test, it: test })
}
