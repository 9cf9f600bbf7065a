'use strict'
// `npm run test:peer`: @fastify/websocket's own test files (test/*.test.js of the devDependency,
// run with node:test) against this plugin, each test alone in its own process (scripts/peer/hook.cjs
// redirects their require of the plugin to cjs/index.cjs and keeps one test per process) with a
// timeout. Prints one line per test and, last, "N passed, N failed".
//
// Tests listed in scripts/peer/kept-differences.json fail by design (a behaviour this plugin keeps
// on purpose, explained in the README's "Migrating from @fastify/websocket"): the exit code is 0
// when exactly those fail, non-zero when any other test fails.
//
// Options: --target=peer runs the real @fastify/websocket instead (a check of the harness itself);
// --failures-md=<file> writes the failing tests and their first error line as a Markdown list;
// other arguments filter tests by a substring of "<file> > <name>".
// Env: PEER_JOBS (parallel processes, default 2), PEER_TIMEOUT_MS (per test, default 15000).
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..')
const hook = path.join(__dirname, 'hook.cjs')
const peerDir = path.join(path.dirname(require.resolve('@fastify/websocket/package.json', { paths: [root] })), 'test')
const peerVersion = require(path.join(peerDir, '..', 'package.json')).version
const kept = require('./kept-differences.json')

const args = process.argv.slice(2)
const target = args.includes('--target=peer') ? 'peer' : 'ours'
const mdArg = args.find(a => a.startsWith('--failures-md='))
const filters = args.filter(a => !a.startsWith('--'))
const jobs = Math.max(1, Number(process.env.PEER_JOBS ?? 2))
const timeoutMs = Number(process.env.PEER_TIMEOUT_MS ?? 15000)

if (target === 'ours' && !fs.existsSync(path.join(root, 'dist', 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first')
  process.exit(2)
}

/** Every test of every file, in file order, as listed by the hook (their code is not run). */
function listTests () {
  const tests = []
  for (const file of fs.readdirSync(peerDir).filter(f => f.endsWith('.test.js')).sort()) {
    const out = execFileSync(process.execPath, ['--require', hook, file], {
      cwd: peerDir, env: { ...process.env, PEER_LIST: '1' }, encoding: 'utf8', timeout: timeoutMs
    })
    for (const line of out.split('\n').filter(Boolean)) {
      const { index, name } = JSON.parse(line)
      tests.push({ file, index, name, id: `${file} > ${name}` })
    }
  }
  return tests
}

/** The first line of the error in the YAML block of a failed TAP result, or null. */
function firstErrorLine (tap) {
  const lines = tap.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s+error: (.*)$/.exec(lines[i])
    if (m === null) continue
    if (m[1] !== '|-' && m[1] !== '|' && m[1] !== '>-') return m[1].replace(/^'(.*)'$/, '$1')
    for (let j = i + 1; j < lines.length; j++) if (lines[j].trim() !== '') return lines[j].trim() + actualExpected(tap)
  }
  return null
}

/** " (actual X, expected Y)" from an assertion's YAML keys: the message alone is often a heading. */
function actualExpected (tap) {
  const actual = /^\s+actual: (.*)$/m.exec(tap)
  const expected = /^\s+expected: (.*)$/m.exec(tap)
  return actual !== null && expected !== null ? ` (actual ${actual[1]}, expected ${expected[1]})` : ''
}

/** Runs one test in its own process; resolves { ok, reason }. */
function runTest (t) {
  return new Promise(resolve => {
    const env = { ...process.env, PEER_TEST_INDEX: String(t.index), PEER_TARGET: target }
    delete env.NODE_OPTIONS
    const child = spawn(process.execPath, ['--test-reporter=tap', '--require', hook, t.file], { cwd: peerDir, env })
    let out = ''
    let err = ''
    child.stdout.on('data', d => { out += d })
    child.stderr.on('data', d => { err += d })
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      const passed = /^ok 1 /m.test(out)
      const failed = /^not ok /m.test(out)
      if (passed && !failed && code === 0) return resolve({ ok: true })
      let reason
      if (failed) reason = firstErrorLine(out.slice(out.search(/^not ok /m))) ?? 'failed'
      else if (timedOut) reason = passed ? `passed, but its process was still running after ${timeoutMs} ms` : `timed out after ${timeoutMs} ms`
      else {
        // node:test reports an error raised after the test ended as a "# Error:" comment
        const late = /^# (Error: .*)$/m.exec(out)
        reason = `exit code ${code}: ${late?.[1] ?? err.trim().split('\n').find(l => /Error|error/.test(l)) ?? err.trim().split('\n')[0] ?? ''}`
      }
      resolve({ ok: false, reason })
    })
  })
}

async function main () {
  const tests = listTests().filter(t => filters.length === 0 || filters.some(f => t.id.includes(f)))
  console.log(`# @fastify/websocket ${peerVersion} test files against ${target === 'ours' ? 'fastify-rfc6455 (cjs/index.cjs)' : 'the real @fastify/websocket'}: ${tests.length} tests, ${jobs} at a time`)
  const results = new Array(tests.length)
  let next = 0
  async function worker () {
    while (next < tests.length) {
      const i = next++
      results[i] = await runTest(tests[i])
      const r = results[i]
      console.log(`${r.ok ? 'ok    ' : 'FAILED'} ${tests[i].id}${r.ok ? '' : `\n         ${r.reason}`}`)
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker))

  const failures = tests.map((t, i) => ({ ...t, ...results[i] })).filter(r => !r.ok)
  const expected = target === 'ours' ? new Set(Object.keys(kept)) : new Set()
  const unexpected = failures.filter(f => !expected.has(f.id))
  const keptFailing = failures.filter(f => expected.has(f.id))
  const nowPassing = [...expected].filter(id => tests.some(t => t.id === id) && !failures.some(f => f.id === id))
  if (keptFailing.length > 0) console.log(`# ${keptFailing.length} failing by design (kept differences: scripts/peer/kept-differences.json)`)
  for (const id of nowPassing) console.log(`# listed as a kept difference but passes: ${id}`)
  if (unexpected.length > 0) console.log(`# ${unexpected.length} unexpected failures`)
  if (mdArg !== undefined) writeMarkdown(mdArg.slice('--failures-md='.length), tests.length, failures, expected)
  console.log(`${tests.length - failures.length} passed, ${failures.length} failed`)
  process.exitCode = unexpected.length > 0 ? 1 : 0
}

function writeMarkdown (file, total, failures, expected) {
  const lines = [
    `# @fastify/websocket ${peerVersion} tests failing against fastify-rfc6455`,
    '',
    `Written by \`node scripts/peer/run.js --failures-md=...\` at ${new Date().toISOString()}: ` +
      `${total - failures.length} passed, ${failures.length} failed.`,
    '',
    'All: `npm run test:peer` (builds first). One or some, on the current dist/: `node scripts/peer/run.js \'<part of the name>\'`. ' +
      'A failure kept on purpose goes in scripts/peer/kept-differences.json ("<file> > <test name>": "why") and in the ' +
      'README\'s "Migrating from @fastify/websocket".',
    ''
  ]
  for (const f of failures) lines.push(`- ${expected.has(f.id) ? '(kept difference) ' : ''}${f.id}\n  - \`${f.reason.replace(/`/g, "'")}\``)
  fs.writeFileSync(file, lines.join('\n') + '\n')
}

main().catch(err => { console.error(err); process.exitCode = 1 })
