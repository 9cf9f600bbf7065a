'use strict'
// Rewrites the README's error-code table from lib/errors.ts (run after `npm run build`):
//   node scripts/error-table.js
const { readFileSync, writeFileSync } = require('node:fs')
const { join } = require('node:path')
const { errorCodes, errorSpec } = require('../dist/errors.js')

const file = join(__dirname, '..', 'README.md')
const readme = readFileSync(file, 'utf8')
const header = '| code | close code | HTTP status | meaning |\n|---|---|---|---|\n'
const start = readme.indexOf(header)
if (start === -1) throw new Error('error table header not found in README.md')
const bodyStart = start + header.length
let end = bodyStart
while (readme.startsWith('| `WS_ERR_', end)) end = readme.indexOf('\n', end) + 1
const rows = errorCodes.map(code => {
  const s = errorSpec(code)
  return `| \`${code}\` | ${s.closeCode ?? ''} | ${s.statusCode ?? ''} | ${s.message} |\n`
}).join('')
writeFileSync(file, readme.slice(0, bodyStart) + rows + readme.slice(end))
console.log(`README.md: ${errorCodes.length} error codes`)
