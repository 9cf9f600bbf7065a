// bench/deflate-memory.js must keep producing the README's deflate table: its smoke run starts
// `ws` and three of our modes in their own processes, connects 50 peers to each with a browser's
// offer, echoes compressed JSON, and exits 0 only if every echo came back without an error.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const script = join(__dirname, '..', '..', 'bench', 'deflate-memory.js')

t.test('the deflate memory bench runs every mode against ws and prints its table', async t => {
  const run = spawnSync(process.execPath, [script, '--smoke'], { encoding: 'utf8', timeout: 120_000 })
  t.equal(run.status, 0, run.stderr)
  for (const mode of ['ws', 'ours:shared:shared', 'ours:borrowed:shared', 'ours:dedicated-8kb:dedicated']) {
    // memory deltas over 50 connections can come out negative (pages freed meanwhile)
    const kb = '-?[\\d.]+ KB'
    t.match(run.stdout, new RegExp(`\\| \`${mode}\` \\| ${kb} / ${kb} / ${kb} \\| ${kb} \\| 0\\.\\d+ \\([\\d.]+x\\) \\| \\d+ \\([\\d.]+x\\) \\|`), `a row for ${mode}`)
  }
})
