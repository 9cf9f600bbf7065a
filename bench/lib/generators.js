'use strict'
// The two load generators: wsload (C, epoll; built here from ../shared/tools/wsload) and jsload.
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { runBounded } = require('./proc')

const BENCH_DIR = path.join(__dirname, '..')
// WSLOAD_SRC in the environment: the source elsewhere (a git worktree has no ../shared beside it)
const WSLOAD_SRC = process.env.WSLOAD_SRC ?? path.resolve(BENCH_DIR, '..', '..', 'shared', 'tools', 'wsload')
const BUILD_DIR = path.join(BENCH_DIR, '.build', 'wsload')
const JSLOAD = path.join(BENCH_DIR, 'load', 'jsload.js')

/**
 * Copy wsload's sources into bench/.build/wsload and `make` there (rebuilt when the source is
 * newer). Returns { bin } or { error } — the runner then falls back to jsload where it can.
 */
function buildWsload () {
  try {
    const src = path.join(WSLOAD_SRC, 'wsload.c')
    if (!fs.existsSync(src)) return { error: `wsload source not found at ${WSLOAD_SRC}` }
    fs.mkdirSync(BUILD_DIR, { recursive: true })
    const bin = path.join(BUILD_DIR, 'wsload')
    const stale = !fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs
    if (stale) {
      for (const f of ['wsload.c', 'Makefile']) fs.copyFileSync(path.join(WSLOAD_SRC, f), path.join(BUILD_DIR, f))
      execFileSync('make', ['-s', '-C', BUILD_DIR], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000 })
    }
    execFileSync(bin, ['--selftest'], { stdio: 'ignore', timeout: 10000 })
    return { bin }
  } catch (err) {
    return { error: `wsload build failed: ${(err.stderr ?? err.message).toString().slice(0, 500)}` }
  }
}

function lastJsonLine (stdout, prefix) {
  const lines = stdout.split('\n').filter(l => l.startsWith(prefix))
  if (lines.length === 0) return null
  try { return JSON.parse(lines[lines.length - 1].slice(prefix === '{' ? 0 : prefix.length)) } catch { return null }
}

/**
 * Run a generator; resolves { json, error }: `error` is set when it timed out, printed no JSON,
 * or counted errors (its exit status is non-zero), with the tail of its output.
 */
async function runGenerator (command, args, prefix, timeoutS) {
  const r = await runBounded(command, args, { timeoutMs: timeoutS * 1000, raiseFdLimit: true })
  const json = lastJsonLine(r.stdout, prefix)
  let error = null
  if (r.timedOut) error = `timed out after ${timeoutS} s`
  else if (json === null) error = `no JSON output (exit ${r.code ?? r.signal})`
  else if (r.code !== 0) error = `exit ${r.code}: ${json.errors} error(s)` + (json.first_error ? ` (${json.first_error})` : '')
  if (error !== null) error += `\n  command: ${path.basename(command)} ${args.join(' ')}\n  ${r.stderr.trim().split('\n').slice(-5).join('\n  ')}`
  return { json, error }
}

/** wsload, always with --spin (2 cores: the server gets the other core to itself). */
function runWsload (bin, args, timeoutS) {
  return runGenerator(bin, ['-q', '--spin', ...args], 'JSON ', timeoutS)
}

function runJsload (args, timeoutS) {
  return runGenerator(process.execPath, [JSLOAD, ...args], '{', timeoutS)
}

function wsloadVersion (bin) {
  try { return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() } catch { return null }
}

module.exports = { buildWsload, runWsload, runJsload, wsloadVersion }
