// `npm run test:all-node` runs the suite once per tested Node version by putting that version's
// bin directory first in PATH. This checks the run is what it says: the test process, a child
// spawned the way the tests spawn peers (process.execPath) and one spawned as plain `node` all run
// the version the script meant (WS_TEST_NODE_MAJOR, which it sets for each run).
import t from 'tap'
import { execFileSync } from 'node:child_process'

const expected = process.env.WS_TEST_NODE_MAJOR
const major = (version: string): string => version.replace(/^v/, '').split('.')[0]

t.test('the test process and the processes it spawns run the Node version the run is for', async t => {
  const viaExecPath = execFileSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8' }).trim()
  const viaPath = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim()
  t.equal(viaExecPath, process.version, 'a child spawned with process.execPath')
  t.equal(viaPath, process.version, 'a child spawned as `node` from PATH')
  if (expected === undefined) {
    t.comment(`no WS_TEST_NODE_MAJOR: one run on ${process.version}`)
    return
  }
  t.equal(major(process.version), expected, `the test process runs Node ${expected}`)
})
