'use strict'
// Line-coverage floors per folder, checked after a whole-suite tap run (CI, on the Node that
// measures coverage: scripts/test-all-node.sh) from tap's lcov report (.tap/report/lcov.info).
// tap's own thresholds only judge the run as a whole. The I/O-free layers are held to every line:
// the engine and the handshake are pure functions of their input, so a line no test reaches is a
// line nobody has seen work (their own unit tests, test/engine and test/handshake, reach 100%).
// The other folders must reach 95% (lib/plugin measured 95.9% and lib/session 98.1% on 2026-11-29).
//   node scripts/coverage-floors.js [path/to/lcov.info]
const { readFileSync, existsSync } = require('node:fs')
const { join, relative, isAbsolute, posix } = require('node:path')

/** folder (the files directly in it) -> least share of its lines the suite must run, in % */
const FLOORS = { 'lib/engine': 100, 'lib/handshake': 100, lib: 95, 'lib/client': 95, 'lib/pubsub': 95, 'lib/plugin': 95, 'lib/session': 95 }

const root = join(__dirname, '..')
const file = process.argv[2] ?? join(root, '.tap', 'report', 'lcov.info')
if (!existsSync(file)) {
  console.error(`coverage floors: ${relative(root, file)} is missing (run the whole suite with coverage; tap's coverage-report must include lcovonly)`)
  process.exit(1)
}

// lcov: SF:<file> starts a file's record, DA:<line>,<hits> is one line
const folders = new Map()
let current = null
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (line.startsWith('SF:')) {
    const path = line.slice(3).trim()
    const rel = (isAbsolute(path) ? relative(root, path) : path).split('\\').join('/')
    const folder = posix.dirname(rel)
    if (!folders.has(folder)) folders.set(folder, { covered: 0, total: 0, missed: new Map() })
    current = { folder: folders.get(folder), rel }
  } else if (line.startsWith('DA:') && current !== null) {
    const hits = Number(line.slice(3).split(',')[1])
    current.folder.total++
    if (hits > 0) current.folder.covered++
    else current.folder.missed.set(current.rel, (current.folder.missed.get(current.rel) ?? 0) + 1)
  }
}

let failed = false
for (const [folder, floor] of Object.entries(FLOORS)) {
  const f = folders.get(folder)
  if (f === undefined) {
    failed = true
    console.error(`coverage floors: nothing of ${folder}/ in the report`)
    continue
  }
  const pct = Math.floor(10000 * f.covered / f.total) / 100
  if (pct < floor) {
    failed = true
    const where = [...f.missed].map(([rel, n]) => `${rel} (${n})`).join(', ')
    console.error(`coverage floors: ${folder}/ ${pct}% of lines, under its floor of ${floor}%; lines missed in ${where}`)
  } else {
    console.log(`coverage floors: ${folder}/ ${pct}% of lines (floor ${floor}%)`)
  }
}
process.exit(failed ? 1 : 0)
