// The error table (lib/errors.ts, synced into the README) is a promise to users: every code in it
// can reach them. This walks the source of lib/ for the calls that raise a code and checks the
// table against them both ways, so that a code can be neither documented and dead nor raised and
// undocumented (TypeScript already checks the second for literal codes; a code passed through a
// variable is caught here).
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { errorCodes } from '../lib/errors'

const LIB = join(__dirname, '..', 'lib')

/** The functions whose first argument is the code they raise (a WebSocketError is built from it). */
const RAISERS = /\b(?:wsError|fail|handshakeRefusal|new WebSocketError)\(/g

/**
 * Codes raised without a literal at a raiser's call: none today. Each entry says where the code
 * is built and why the walk cannot see it.
 */
const RAISED_INDIRECTLY = new Map<string, string>([])

function sourceFiles (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sourceFiles(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** The text of the first argument of the call whose '(' is at `open`: up to a ',' or ')' at depth 0. */
function firstArgument (src: string, open: number): string {
  let depth = 0
  let quote = ''
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i]
    if (quote !== '') {
      if (c === '\\') i++
      else if (c === quote) quote = ''
      continue
    }
    if (c === '\'' || c === '"' || c === '`') quote = c
    else if (c === '(' || c === '[' || c === '{') depth++
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) return src.slice(open + 1, i)
      depth--
    } else if (c === ',' && depth === 0) return src.slice(open + 1, i)
  }
  return ''
}

/** Code -> the files raising it. A conditional first argument (`a ? 'X' : 'Y'`) raises each literal. */
function raisedCodes (): Map<string, Set<string>> {
  const raised = new Map<string, Set<string>>()
  for (const file of sourceFiles(LIB)) {
    if (file === join(LIB, 'errors.ts')) continue // the table itself
    // drop comment lines: a doc comment naming a call is not a call
    const src = readFileSync(file, 'utf8').split('\n').filter(line => !/^\s*(\/\/|\*|\/\*)/.test(line)).join('\n')
    for (const match of src.matchAll(RAISERS)) {
      const arg = firstArgument(src, (match.index ?? 0) + match[0].length - 1)
      for (const literal of arg.matchAll(/'(WS_ERR_[A-Z0-9_]+)'/g)) {
        const files = raised.get(literal[1]) ?? new Set<string>()
        files.add(relative(LIB, file))
        raised.set(literal[1], files)
      }
    }
  }
  return raised
}

const raised = raisedCodes()

t.test('every code in the error table is raised somewhere in lib/', async t => {
  for (const code of errorCodes) {
    if (RAISED_INDIRECTLY.has(code)) continue
    t.ok(raised.has(code), `${code} is raised (found in ${[...raised.get(code) ?? []].join(', ') || 'no file'})`)
  }
})

t.test('every code raised in lib/ is in the error table', async t => {
  const table = new Set<string>(errorCodes)
  for (const [code, files] of raised) t.ok(table.has(code), `${code} (raised in ${[...files].join(', ')}) is in lib/errors.ts`)
})

t.test('the allow-list of codes raised indirectly holds only codes of the table that the walk cannot see', async t => {
  for (const code of RAISED_INDIRECTLY.keys()) {
    t.ok((errorCodes as readonly string[]).includes(code), `${code} is in the table`)
    t.notOk(raised.has(code), `${code} is found by the walk: take it off the allow-list`)
  }
})

t.test('the walk reads the raisers it claims to: the codes of the parser, a conditional and a refusal are found', async t => {
  // a sanity check of the walk itself, so that a broken regex cannot pass the tests above vacuously
  t.ok(raised.get('WS_ERR_INVALID_OPCODE')?.has(join('engine', 'parser.ts')), 'fail(...) in the parser')
  t.ok(raised.has('WS_ERR_UNEXPECTED_RSV_1') && raised.has('WS_ERR_UNEXPECTED_RSV_2_3'), 'both arms of a conditional code')
  t.ok(raised.has('WS_ERR_CLIENT_REDIRECTS'), 'handshakeRefusal(...)')
  t.ok(raised.size > 40, `${raised.size} codes found`)
})
