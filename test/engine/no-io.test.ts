import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = join(__dirname, '..', '..', 'lib', 'engine')

t.test('the engine imports no networking or stream module: bytes in, events and bytes out', async t => {
  const forbidden = /from ['"](node:)?(net|http|https|http2|tls|dgram|stream|stream\/[a-z]+|fs|child_process)['"]/
  const files = readdirSync(dir).filter(f => f.endsWith('.ts'))
  t.ok(files.length >= 8, 'the engine files were found')
  for (const file of files) {
    const source = readFileSync(join(dir, file), 'utf8')
    const imports = source.split('\n').filter(line => /^\s*import\b/.test(line) || /require\(/.test(line))
    for (const line of imports) t.notMatch(line, forbidden, `${file}: ${line.trim()}`)
    t.notMatch(source, /require\(['"](node:)?(net|http|https|tls|stream)['"]\)/, `${file} has no require of I/O modules`)
  }
})
