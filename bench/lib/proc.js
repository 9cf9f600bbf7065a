'use strict'
// Child processes of the runner: servers and generators, every one tracked and killed at the end.
const { spawn } = require('node:child_process')
const net = require('node:net')

const children = new Set()

/** Spawn a tracked child; `sh -c 'ulimit -n HARD; exec ...'` keeps the pid and raises the fd limit. */
function spawnTracked (command, args, { env, raiseFdLimit = false, cwd } = {}) {
  const child = raiseFdLimit
    ? spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', command, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  child.output = ''
  const keep = chunk => { child.output = (child.output + chunk.toString()).slice(-20000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  child.exited = new Promise(resolve => child.once('exit', (code, signal) => {
    children.delete(child)
    child.exitCode_ = code
    child.exitSignal_ = signal
    resolve({ code, signal })
  }))
  return child
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
async function stop (child, graceMs = 2000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await child.exited
  clearTimeout(timer)
}

function killAllSync () {
  for (const child of children) { try { child.kill('SIGKILL') } catch {} }
}

/** A free TCP port on 127.0.0.1 (bound and released; the kernel will not hand it out at once). */
function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
  })
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function probe (port) {
  return new Promise(resolve => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** Run a command to completion with a hard time limit; resolves { code, signal, stdout, stderr, timedOut }. */
function runBounded (command, args, { timeoutMs, env, raiseFdLimit } = {}) {
  const child = spawnTracked(command, args, { env, raiseFdLimit })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', c => { stdout += c })
  child.stderr.on('data', c => { stderr = (stderr + c).slice(-20000) })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
  return child.exited.then(({ code, signal }) => {
    clearTimeout(timer)
    return { code, signal, stdout, stderr, timedOut }
  })
}

process.once('exit', killAllSync)
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killAllSync(); process.exit(130) })
}

module.exports = { spawnTracked, stop, killAllSync, freePort, probe, runBounded }
