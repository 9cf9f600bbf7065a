'use strict'
// `npm run test:peer-types`: @fastify/websocket's own type tests (types/index.tst.ts of the
// devDependency, run with tstyche) against this package's types, with only the import changed:
// `from '.'` becomes `from 'fastify-rfc6455'`. Lines that exercise a difference this plugin keeps
// (scripts/peer/type-differences.json: the line, trimmed, and why; "<anchor> >> <line>" for the
// first such line after one containing <anchor>) are commented out, each printed. Runs in a temporary project whose node_modules links to ours, with fastify-rfc6455
// linked to this checkout (its built dist/, cjs/ and esm/). Exits non-zero when tstyche fails.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..')
const peerRoot = path.dirname(require.resolve('@fastify/websocket/package.json', { paths: [root] }))
const differences = require('./type-differences.json')

if (!fs.existsSync(path.join(root, 'cjs', 'index.d.cts'))) {
  console.error('cjs/index.d.cts is missing: run `npm run build` first')
  process.exit(2)
}

const source = fs.readFileSync(path.join(peerRoot, 'types', 'index.tst.ts'), 'utf8')
let imports = 0
const unused = new Set(Object.keys(differences))
// a key "<anchor> >> <line>" leaves out only the first <line> after a line containing <anchor>
const anchored = Object.keys(differences).filter(k => k.includes(' >> ')).map(k => {
  const [anchor, line] = k.split(' >> ')
  return { key: k, anchor, line, armed: false }
})
const lines = source.split('\n').map(line => {
  const text = line.trim()
  let key = differences[text] !== undefined ? text : undefined
  for (const a of anchored) {
    if (line.includes(a.anchor) && unused.has(a.key)) a.armed = true
    else if (a.armed && text === a.line) { key = a.key; a.armed = false }
  }
  if (key !== undefined) {
    unused.delete(key)
    console.log(`# kept difference, line left out: ${text}\n#   ${differences[key]}`)
    return `// kept difference (${differences[key]}): ${line}`
  }
  return line.replace(/ from '\.'$/, () => { imports++; return " from 'fastify-rfc6455'" })
})
if (imports !== 1) throw new Error(`expected one import from '.' in their index.tst.ts, found ${imports}`)
for (const line of unused) console.log(`# listed in type-differences.json but not in their file: ${line}`)

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rfc6455-peer-types-'))
try {
  // node_modules: a link to each of ours, plus fastify-rfc6455 itself (resolved through its exports)
  const modules = path.join(tmp, 'node_modules')
  fs.mkdirSync(modules)
  for (const entry of fs.readdirSync(path.join(root, 'node_modules'))) {
    if (entry !== '.bin' && entry !== 'fastify-rfc6455') fs.symlinkSync(path.join(root, 'node_modules', entry), path.join(modules, entry), 'dir')
  }
  fs.symlinkSync(root, path.join(modules, 'fastify-rfc6455'), 'dir')
  fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: 'peer-types', private: true, type: 'commonjs' }))
  // fastify-tsconfig (what their tests compile with): strict, nodenext modules (typebox is ESM only: a CommonJS file may import it under nodenext, Node 22 semantics)
  fs.writeFileSync(path.join(tmp, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', esModuleInterop: true, types: ['node'], noEmit: true, skipLibCheck: true },
    include: ['index.tst.ts']
  }, null, 2))
  fs.writeFileSync(path.join(tmp, 'index.tst.ts'), lines.join('\n'))
  const tstyche = path.join(root, 'node_modules', 'tstyche', 'build', 'bin.js')
  const res = spawnSync(process.execPath, [tstyche], { cwd: tmp, encoding: 'utf8', timeout: 180_000, env: { ...process.env, NO_COLOR: '1' } })
  process.stdout.write(res.stdout.split(tmp).join('<peer-types>'))
  process.stderr.write(res.stderr.split(tmp).join('<peer-types>'))
  // last line, as the other test commands: "N passed, N failed" (tstyche's assertions)
  const m = /Assertions:\s+(?:(\d+) failed, )?(?:(\d+) passed, )?\d+ total/.exec(res.stdout)
  console.log(m === null ? `tstyche failed (exit code ${res.status}): no assertion count` : `${m[2] ?? 0} passed, ${m[1] ?? 0} failed`)
  process.exitCode = res.status === 0 ? 0 : 1
} finally {
  if (process.env.KEEP === '1') console.log(`kept ${tmp}`)
  else fs.rmSync(tmp, { recursive: true, force: true })
}
