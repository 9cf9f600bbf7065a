// The benchmark's ceiling server (bench/servers/ceiling.js) must be a correct echo for the sizes
// the benchmark uses, or its figures mean nothing: start it on port 0 as the runner does and echo
// large messages through the `ws` client, which splits them into many TCP chunks.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import WebSocket from 'ws'

const script = join(__dirname, '..', '..', 'bench', 'servers', 'ceiling.js')

function startCeiling (): Promise<{ child: ChildProcess, url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /^ready (ws:\/\/127\.0\.0\.1:\d+\/)/m.exec(out)
      if (match !== null) resolve({ child, url: match[1] })
    })
    child.once('exit', code => reject(new Error(`ceiling server exited with ${String(code)}: ${out}`)))
  })
}

function echo (ws: WebSocket, payload: Buffer | string, binary: boolean): Promise<{ data: Buffer, isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }))
    ws.once('error', reject)
    ws.send(payload, { binary })
  })
}

t.test('the ceiling server echoes a 1 MiB binary and a 70 KB text message intact', async t => {
  const { child, url } = await startCeiling()
  t.teardown(() => { child.kill('SIGKILL') })
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 4 << 20 })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })

  const binary = randomBytes(1 << 20)
  const gotBinary = await echo(ws, binary, true)
  t.equal(gotBinary.isBinary, true, 'binary comes back as binary')
  t.ok(gotBinary.data.equals(binary), 'all 1,048,576 bytes match')

  const text = 'ü€'.repeat(14_000) + 'x'.repeat(7_000) // 77,000 bytes of UTF-8
  const gotText = await echo(ws, text, false)
  t.equal(gotText.isBinary, false, 'text comes back as text')
  t.equal(gotText.data.toString('utf8'), text, 'the text matches')

  const closed = new Promise<number>(resolve => ws.once('close', (code: number) => resolve(code)))
  ws.close(1000)
  t.equal(await closed, 1000, 'the close frame is echoed, completing the close handshake')
})
