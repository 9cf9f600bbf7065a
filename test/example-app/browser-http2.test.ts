// The chat demo served over https with HTTP/2, in a real Chromium (playwright-core, headless,
// self-signed certificate accepted with --ignore-certificate-errors): the browser opens its
// WebSockets as streams of the page's HTTP/2 connection (RFC 8441). Asserted on the server: the
// handshake requests were HTTP/2, permessage-deflate was negotiated; in the pages: messages flow
// both ways.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../example-app/app.js'
import type { Http2ServerRequest } from 'node:http2'
import type { WebSocket as ServerSocket } from '../../lib/index'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const skip = existsSync(CHROMIUM) ? false : `Chromium not installed: apt-get install chromium; browser test skipped (looked for ${CHROMIUM})`

declare const document: {
  querySelectorAll (selector: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>
}

function selfSigned (dir: string): { key: Buffer, cert: Buffer } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 20_000 })
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
}

t.test('Chromium chats over WebSockets on HTTP/2 streams, with permessage-deflate', { timeout: 60_000, skip }, async t => {
  const opened: Array<{ nickname: string, socket: ServerSocket, httpVersion: string, session: unknown }> = []
  const app = await buildApp({
    https: selfSigned(t.testdir()),
    onConnection (socket, req) {
      opened.push({
        nickname: (req as unknown as { chatSession: { nickname: string } }).chatSession.nickname,
        socket,
        httpVersion: req.raw.httpVersion,
        session: (req.raw as unknown as Http2ServerRequest).stream?.session
      })
    }
  })
  // the HTTP/2 sessions the pages were loaded over
  const pageSessions = new Set<unknown>()
  app.addHook('onRequest', async req => {
    if (req.url === '/') pageSessions.add((req.raw as unknown as Http2ServerRequest).stream?.session)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 20_000,
    args: ['--no-sandbox', '--ignore-certificate-errors', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(() => browser.close())

  const problems: string[] = []
  async function joinAs (nickname: string): Promise<Page> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true })
    const page = await context.newPage()
    page.setDefaultTimeout(10_000)
    page.on('pageerror', err => problems.push(`page error: ${err.message}`))
    await page.goto(base)
    await page.fill('#nickname', nickname)
    await page.fill('#room', 'h2')
    await page.click('#login button[type=submit]')
    await page.waitForSelector('#status[data-state=online]')
    return page
  }
  const say = async (page: Page, text: string): Promise<void> => {
    await page.fill('#text', text)
    await page.press('#text', 'Enter')
  }
  const shows = (page: Page, text: string): Promise<unknown> =>
    page.waitForFunction(s => [...document.querySelectorAll('#messages .text')].some(e => e.textContent === s), text)

  const ada = await joinAs('ada')
  const bob = await joinAs('bob')
  await say(ada, 'hello over h2')
  await shows(bob, 'hello over h2')
  await say(bob, 'and back, compressed')
  await shows(ada, 'and back, compressed')

  t.equal(opened.length, 2)
  for (const o of opened) {
    t.equal(o.httpVersion, '2.0', `${o.nickname}'s WebSocket handshake came over HTTP/2`)
    t.ok(pageSessions.has(o.session), `${o.nickname}'s WebSocket is a stream of the connection the page was loaded over`)
    t.match(o.socket.extensions, /^permessage-deflate/, `deflate negotiated with ${o.nickname}'s browser`)
    t.equal(o.socket.protocol, 'chat.v1')
  }
  t.match(await ada.getAttribute('#status', 'data-extensions'), /^permessage-deflate/, 'the page sees the extension too')
  t.same(problems, [])
})
