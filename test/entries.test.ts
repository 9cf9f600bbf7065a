// The package's entry points: the ESM wrappers must offer every runtime export of the CommonJS
// build they wrap, so that `import { x } from 'fastify-rfc6455'` works for each documented x.
import t from 'tap'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const root = path.join(__dirname, '..')
const entries: Array<[string, string]> = [
  ['esm/index.mjs', 'dist/index.js'],
  ['esm/client.mjs', 'dist/client/index.js'],
  ['esm/engine.mjs', 'dist/engine/index.js']
]

for (const [esm, cjs] of entries) {
  t.test(`${esm} exports every runtime export of ${cjs}`, async t => {
    const common = require(path.join(root, cjs)) as Record<string, unknown>
    const imported = await import(pathToFileURL(path.join(root, esm)).href) as Record<string, unknown>
    const names = Object.keys(common).filter(name => name !== '__esModule' && common[name] !== undefined)
    t.ok(names.length > 0)
    for (const name of names) {
      if (name === 'default') continue
      t.equal(imported[name], common[name], `${name} is exported as the same value`)
    }
    if ('default' in common) t.equal(imported.default, common.default, 'default export')
  })
}
