// The README's recipes are the example files the recipe tests run, word for word.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(__dirname, '..', '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')

for (const file of ['examples/prometheus.js', 'examples/opentelemetry.js']) {
  t.test(`the README shows ${file} as it is`, async t => {
    const code = readFileSync(join(root, file), 'utf8').trim()
    t.ok(readme.includes('```js\n' + code + '\n```'), `${file} appears in a js code block`)
  })
}
