// Layers point one way (DESIGN.md section 2): the engine imports nothing but errors; the
// handshake, the engine; the socket machinery, both; the client and pub/sub, the socket and
// below, never each other; the plugin (the Fastify glue), those and pub/sub, never the client;
// the entry points (index, types, bin) anything. This walks
// every relative import in lib/ (type-only ones too: a type dependency is a dependency) and fails
// on an edge that points up or sideways.
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

const LIB = resolve(__dirname, '..', '..', 'lib')

/** The layer of a file in lib/, and which folders of the same layer it may import. */
function layerOf (file: string): { rank: number, group: string } {
  const rel = relative(LIB, file).split(sep).join('/')
  if (rel === 'errors.ts') return { rank: 0, group: 'errors' }
  const folder = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : ''
  if (folder === 'engine') return { rank: 1, group: 'engine' }
  if (folder === 'handshake') return { rank: 2, group: 'handshake' }
  if (folder === 'client' || folder === 'pubsub') return { rank: 4, group: folder }
  // the Fastify glue wires pub/sub into the plugin: it may import pubsub, never the client
  if (folder === 'plugin') return { rank: 5, group: folder }
  if (folder === 'bin' || rel === 'index.ts' || rel === 'augmentation.ts') return { rank: 6, group: 'entry' }
  // the socket and its machinery: socket.ts, transport.ts, reading.ts, shared-read.ts, stream.ts, budget.ts...
  return { rank: 3, group: 'socket' }
}

function walk (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...walk(path))
    else if (name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** Relative specifiers of `import ... from`, `export ... from`, `import('...')` and `require('...')`. */
function importsOf (source: string): string[] {
  const specs: string[] = []
  for (const m of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)'(\.[^']*)'/gm)) specs.push(m[1])
  return specs
}

function resolveImport (from: string, spec: string): string {
  const base = resolve(dirname(from), spec)
  for (const candidate of [base + '.ts', join(base, 'index.ts'), base]) {
    try { if (statSync(candidate).isFile()) return candidate } catch {}
  }
  return base + '.ts'
}

t.test('every relative import in lib/ points down the layers (engine <- handshake <- socket <- client, plugin, pubsub)', async t => {
  const files = walk(LIB)
  t.ok(files.length > 30, `${files.length} files read`)
  const wrong: string[] = []
  let edges = 0
  for (const file of files) {
    const from = layerOf(file)
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolveImport(file, spec)
      const to = layerOf(target)
      edges++
      const down = to.rank < from.rank || to.group === from.group
      if (!down) wrong.push(`${relative(LIB, file)} (${from.group}) -> ${relative(LIB, target)} (${to.group})`)
    }
  }
  t.ok(edges > 100, `${edges} import edges checked`)
  t.same(wrong, [], 'no import points up or sideways')
})

t.test('the walk catches an upward edge', async t => {
  // the checker itself, on made-up sources: would it see what it is for?
  t.same(importsOf("import type { X } from '../socket'\nexport { y } from './y'\nconst z: import('../plugin/options').Z"), ['../socket', './y', '../plugin/options'])
  const engineFile = join(LIB, 'engine', 'parser.ts')
  const socketFile = join(LIB, 'socket.ts')
  t.ok(layerOf(socketFile).rank > layerOf(engineFile).rank, 'the socket sits above the engine')
  t.equal(layerOf(join(LIB, 'client', 'options.ts')).group, 'client')
  t.not(layerOf(join(LIB, 'client', 'options.ts')).group, layerOf(join(LIB, 'plugin', 'options.ts')).group, 'client and plugin are separate groups of one rank')
})
