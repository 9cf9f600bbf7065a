// The plugin's allowedOrigins is compiled once, when the plugin registers: a bad policy fails
// registration even in an app with no WebSocket route, and every route that inherits it checks
// the Origin header with that one checker; a route's own policy replaces it.
import t from 'tap'
import { startApp, openWs, refusedWs, registrationError } from '../helpers/app'

t.test('a malformed allowedOrigins fails registration with WS_ERR_INVALID_OPTION, with no route declared', async t => {
  t.match(await registrationError({ allowedOrigins: 'https://a.example' }), { code: 'WS_ERR_INVALID_OPTION', message: /array of strings or a function/ })
  t.match(await registrationError({ allowedOrigins: ['not an origin'] }), { code: 'WS_ERR_INVALID_OPTION' })
  t.equal(await registrationError({ allowedOrigins: ['https://a.example', 'https://*.b.example'] }), null, 'a valid list registers')
})

t.test('routes inherit the plugin policy and a route policy replaces it, over real upgrades', async t => {
  const server = await startApp(t, app => {
    app.get('/inherits', { websocket: true }, socket => { socket.send('hi') })
    app.get('/own', { websocket: { allowedOrigins: ['https://c.example'], open (socket) { socket.send('hi') } } }, () => {})
  }, { plugin: { allowedOrigins: ['https://a.example'] } })
  const ok = await openWs(server.ws('/inherits'), undefined, { origin: 'https://a.example' })
  ok.terminate()
  t.equal((await refusedWs(server.ws('/inherits'), undefined, { origin: 'https://c.example' })).status, 403, 'a foreign origin gets 403')
  const own = await openWs(server.ws('/own'), undefined, { origin: 'https://c.example' })
  own.terminate()
  t.equal((await refusedWs(server.ws('/own'), undefined, { origin: 'https://a.example' })).status, 403, "the plugin's origin is not the route's")
})
