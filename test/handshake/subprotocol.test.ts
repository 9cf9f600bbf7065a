import t from 'tap'
import { WebSocketError } from '../../lib/errors'
import { parseSubprotocols, selectSubprotocol } from '../../lib/handshake/subprotocol'

function protocolError (value: string | string[]): WebSocketError | undefined {
  try { parseSubprotocols(value) } catch (err) { return err as WebSocketError }
  return undefined
}

t.test('reads the offers in the client\'s order, across header lines, ignoring empty elements', async t => {
  t.same(parseSubprotocols('chat, superchat'), ['chat', 'superchat'])
  t.same(parseSubprotocols(' v2.chat ,,\tv1.chat, '), ['v2.chat', 'v1.chat'])
  t.same(parseSubprotocols(['mqtt', 'graphql-ws, graphql-transport-ws']), ['mqtt', 'graphql-ws', 'graphql-transport-ws'])
  t.same(parseSubprotocols(undefined), [])
  t.same(parseSubprotocols(' , '), [], 'only empty elements is no offer')
})

t.test('a non-token offer makes the header malformed', async t => {
  for (const value of ['chat v2', 'chat;q=1', '"chat"', 'chat/2', 'chät', 'a, b c', 'x=y']) {
    const err = protocolError(value)
    t.equal(err?.code, 'WS_ERR_HANDSHAKE_PROTOCOL', value)
    t.equal(err?.statusCode, 400)
    t.match(err?.message, /invalid token/)
  }
})

t.test('a repeated offer makes the header malformed, but names differing in case are distinct', async t => {
  t.match(protocolError('chat, superchat, chat')?.message, /duplicate "chat"/)
  t.equal(protocolError(['chat', 'chat'])?.code, 'WS_ERR_HANDSHAKE_PROTOCOL', 'also across header lines')
  t.same(parseSubprotocols('chat, Chat'), ['chat', 'Chat'])
})

t.test('with a list, the server\'s preference wins over the client\'s order', async t => {
  t.equal(selectSubprotocol(['v1', 'v2'], ['v2', 'v1'], undefined), 'v2')
  t.equal(selectSubprotocol(['v2', 'v1'], ['v1', 'v2'], undefined), 'v1')
  t.equal(selectSubprotocol(['x', 'v1'], ['v2', 'v1'], undefined), 'v1')
})

t.test('with a list, no common protocol, no offer or an empty list selects nothing', async t => {
  t.equal(selectSubprotocol(['a', 'b'], ['c'], undefined), false)
  t.equal(selectSubprotocol([], ['c'], undefined), false)
  t.equal(selectSubprotocol(['a'], [], undefined), false)
  t.equal(selectSubprotocol(['Chat'], ['chat'], undefined), false, 'names are compared case-sensitively')
})

t.test('a selector function sees the offers and the request, and its choice is used when offered', async t => {
  const req = { headers: { 'x-tenant': 'acme' } }
  const calls: unknown[] = []
  const chosen = selectSubprotocol(['a', 'b', 'c'], (offered, r) => {
    calls.push([offered, r])
    return offered[offered.length - 1]
  }, req)
  t.equal(chosen, 'c')
  t.same(calls, [[['a', 'b', 'c'], req]])
})

t.test('a selector\'s answer that the client did not offer counts as no selection', async t => {
  t.equal(selectSubprotocol(['a', 'b'], () => 'z', undefined), false)
  t.equal(selectSubprotocol(['a', 'b'], () => 'A', undefined), false)
  t.equal(selectSubprotocol(['a', 'b'], () => false, undefined), false)
  t.equal(selectSubprotocol(['a', 'b'], () => undefined, undefined), false)
  t.equal(selectSubprotocol(['a', 'b'], () => '', undefined), false)
})

t.test('a selector is not called when nothing was offered, and cannot alter the offers', async t => {
  let called = false
  t.equal(selectSubprotocol([], () => { called = true; return 'a' }, undefined), false)
  t.notOk(called)
  const offered = ['a', 'b']
  t.equal(selectSubprotocol(offered, (o) => { o.push('evil'); return 'evil' }, undefined), false)
  t.same(offered, ['a', 'b'])
})
