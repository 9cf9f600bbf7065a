import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { errorCodes, errorSpec } from '../lib/errors'

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')

t.test('the README lists exactly the error codes lib/errors.ts declares, with their close codes and statuses', async t => {
  const rows = [...readme.matchAll(/^\| `(WS_ERR_[A-Z0-9_]+)` \| (\d*) \| (\d*) \|/gm)]
  t.same(rows.map(r => r[1]), [...errorCodes], 'same codes, same order')
  for (const [, code, close, status] of rows) {
    const spec = errorSpec(code as typeof errorCodes[number])
    t.equal(close, spec.closeCode === undefined ? '' : String(spec.closeCode), `${code} close code`)
    t.equal(status, spec.statusCode === undefined ? '' : String(spec.statusCode), `${code} status`)
  }
})
