// `npm run demo` without SECRET keeps its token key in a file it makes on first run (mode 0600),
// so a token issued before a restart of the server process still works after it; SECRET still
// overrides the file, and a file that others may read, or with too short a key, is refused.
import t, { type Test } from 'tap'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startDemo, runDemoToExit, demoLogin, demoHandshake } from '../helpers/demo-process'

function scratch (t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-secret-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('a token issued before a restart of the demo process still works after it', { timeout: 60_000 }, async t => {
  const file = path.join(scratch(t), 'state', 'secret') // its folder does not exist yet
  const env = { SECRET: '', SECRET_FILE: file }

  const first = await startDemo(env)
  t.teardown(() => first.stop('SIGKILL'))
  t.ok(existsSync(file), 'the first run made the secret file')
  if (process.platform !== 'win32') {
    t.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only')
    t.equal(statSync(path.dirname(file)).mode & 0o777, 0o700, 'and so is the folder it made')
  }
  const key = readFileSync(file, 'utf8')
  t.match(key, /^[0-9a-f]{64}\n$/, '32 random bytes, hex')
  t.match(first.logs().find(l => l.msg === 'session token key loaded'), { secretFrom: `${file} (made now)` })
  t.notOk(first.output().includes(key.trim()), 'the key itself is never printed')

  const token = await demoLogin(first.base, 'ada')
  t.match(await demoHandshake(first.base, token), { welcome: { type: 'welcome', you: 'ada' } }, 'the token works')
  t.equal(await first.stop('SIGTERM'), 0)

  const second = await startDemo(env, first.port)
  t.teardown(() => second.stop('SIGKILL'))
  t.match(second.logs().find(l => l.msg === 'session token key loaded'), { secretFrom: file }, 'the restart reads the file it made')
  t.equal(readFileSync(file, 'utf8'), key, 'and leaves it as it was')
  t.match(await demoHandshake(second.base, token), { welcome: { type: 'welcome', you: 'ada' } },
    'the token from before the restart is accepted by the new process')
  t.equal(await second.stop('SIGTERM'), 0)

  // SECRET overrides the file: the same token is then signed with another key
  const third = await startDemo({ SECRET: 'another key, from the environment', SECRET_FILE: file }, first.port)
  t.teardown(() => third.stop('SIGKILL'))
  t.match(third.logs().find(l => l.msg === 'session token key loaded'), { secretFrom: 'SECRET' })
  t.match(await demoHandshake(third.base, token), { status: 401, body: { reason: 'bad-signature' } }, 'SECRET wins over the file')
  await third.stop('SIGTERM')
})

t.test('processes starting together on one new secret file agree on one key', { timeout: 60_000 }, async t => {
  const file = path.join(scratch(t), 'secret')
  const demos = await Promise.all([1, 2, 3].map(() => startDemo({ SECRET: '', SECRET_FILE: file })))
  t.teardown(() => Promise.all(demos.map(d => d.stop('SIGKILL'))))
  const made = demos.filter(d => d.logs().some(l => l.msg === 'session token key loaded' && l.secretFrom === `${file} (made now)`))
  t.equal(made.length, 1, 'exactly one of them made the file')
  const token = await demoLogin(demos[0].base, 'bob')
  for (const demo of demos) t.match(await demoHandshake(demo.base, token), { welcome: { you: 'bob' } }, `accepted on port ${demo.port}`)
})

t.test('a secret file others may read, or with too short a key, stops the demo with a message', { timeout: 30_000, skip: process.platform === 'win32' && 'no file modes on Windows' }, async t => {
  const dir = scratch(t)
  const open = path.join(dir, 'open')
  writeFileSync(open, 'f'.repeat(64))
  chmodSync(open, 0o644)
  const a = await runDemoToExit({ SECRET: '', SECRET_FILE: open })
  t.equal(a.code, 1)
  t.match(a.output, `${open} holds the session secret but others may read it (mode 644): chmod 600 it`)

  const short = path.join(dir, 'short')
  writeFileSync(short, 'abc\n', { mode: 0o600 })
  const b = await runDemoToExit({ SECRET: '', SECRET_FILE: short })
  t.equal(b.code, 1)
  t.match(b.output, `${short} holds a session secret of 3 characters, fewer than 32`)
})
