'use strict'
// `npm run test:pack`: installs the package as a user would and runs the README's first example.
// 1. `npm pack` in a fresh `git clone` of HEAD (so a build on prepack and the `files` list are what
//    ship; --from-checkout packs the working tree instead, uncommitted changes included);
// 2. installs the tarball, fastify, typescript and @types/node (the versions of our devDependencies,
//    from npm's cache when it has them) into an empty project in a temporary directory;
// 3. runs the README's first example as ESM, as CommonJS and as TypeScript (compiled with --strict),
//    each followed by a client that checks the echo, then closes the server;
// 4. type-checks `import x = require(...)`, default and named imports of the package, /client and
//    /engine under moduleResolution node10, node16 and bundler, and fails on any parameter or
//    variable typed `any` in the compiled files (scripts/pack-smoke/no-any.js compiles and checks).
// Prints what it checks; exits non-zero on the first failure. Keeps the directory with KEEP=1.
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const cases = require('./pack-smoke/cases')

const root = path.resolve(__dirname, '..')
const pkg = require(path.join(root, 'package.json'))
// not a git checkout (a source tarball): pack the tree as it is
const isGit = (() => { try { execFileSync('git', ['rev-parse', '--git-dir'], { cwd: root, stdio: 'ignore' }); return true } catch { return false } })()
const fromCheckout = process.argv.includes('--from-checkout') || !isGit
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rfc6455-pack-'))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function run (cmd, args, cwd, what) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 })
  } catch (err) {
    console.error(`FAILED: ${what}\n$ ${cmd} ${args.join(' ')}\n${err.stdout ?? ''}${err.stderr ?? ''}`)
    throw new Error(what)
  }
}
const step = (what) => console.log(`# ${what}`)

function pack () {
  let src = root
  if (!fromCheckout) {
    src = path.join(tmp, 'clone')
    run('git', ['clone', '--quiet', '--no-hardlinks', root, src], root, 'git clone of HEAD')
    // the clone has no node_modules: the prepack build uses ours (typescript and the types)
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'), 'dir')
    if (fs.existsSync(path.join(src, 'dist'))) throw new Error('a clean clone has a dist/: is it committed?')
  }
  step(`npm pack in ${fromCheckout ? 'the working tree' : 'a clean clone of HEAD'}`)
  const out = run(npm, ['pack', '--json', '--pack-destination', tmp], src, 'npm pack')
  const [info] = JSON.parse(out.slice(out.indexOf('[')))
  const files = info.files.map(f => f.path)
  for (const must of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'cjs/index.cjs',
    'cjs/index.d.cts', 'esm/index.mjs', 'esm/index.d.mts', 'dist/client/index.js', 'dist/engine/index.js']) {
    if (!files.includes(must)) throw new Error(`the tarball lacks ${must} (${files.length} files)`)
  }
  const stray = files.filter(f => /^(lib|test|bench|scripts|example-app|\.ci)\//.test(f))
  if (stray.length > 0) throw new Error(`the tarball ships files users do not need: ${stray.slice(0, 5).join(', ')}`)
  console.log(`  ${info.filename}: ${files.length} files, ${Math.round(info.size / 1024)} KiB`)
  return path.join(tmp, info.filename)
}

function install (tarball) {
  const app = path.join(tmp, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'smoke', private: true }))
  const dev = pkg.devDependencies
  const deps = [tarball, `fastify@${dev.fastify}`, `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`]
  step(`npm install ${deps.map(d => d === tarball ? path.basename(d) : d).join(' ')}`)
  run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...deps], app, 'npm install')
  return app
}

function main () {
  const tarball = pack()
  const app = install(tarball)
  const example = cases.firstExample(fs.readFileSync(path.join(root, 'README.md'), 'utf8'))
  for (const [i, c] of cases.runnable(example).entries()) {
    // each in its own directory: example.mts compiles to an example.mjs of its own
    const dir = path.join(app, `run${i}`)
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, c.file), c.source)
    step(`README's first example as ${c.what}`)
    if (c.compilerOptions !== undefined) {
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: c.compilerOptions, files: [c.file] }, null, 2))
      run(process.execPath, [path.join(__dirname, 'pack-smoke', 'no-any.js'), 'tsconfig.json'], dir, `tsc ${c.file} (and no any)`)
    }
    const out = run(process.execPath, [c.file.replace(/ts$/, 'js')], dir, `node ${c.file}`)
    if (!out.includes('echo ok')) throw new Error(`${c.file} did not print "echo ok"`)
  }
  for (const c of cases.typeChecks()) {
    const dir = path.join(app, c.name)
    fs.mkdirSync(dir)
    for (const [file, source] of Object.entries(c.files)) fs.writeFileSync(path.join(dir, file), source)
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: c.compilerOptions, files: Object.keys(c.files) }, null, 2))
    step(`types under ${c.name}: ${Object.keys(c.files).join(', ')}`)
    run(process.execPath, [path.join(__dirname, 'pack-smoke', 'no-any.js'), 'tsconfig.json'], dir, `tsc under ${c.name} (and no any)`)
  }
  step('ESM and CommonJS entries export the same names')
  run(process.execPath, ['--input-type=module', '-e', cases.sameExports], app, 'same exports')
  console.log('pack smoke: ok')
}

try {
  main()
} catch (err) {
  console.error(`pack smoke failed: ${err.message}`)
  process.exitCode = 1
} finally {
  if (process.env.KEEP === '1') console.log(`kept ${tmp}`)
  else fs.rmSync(tmp, { recursive: true, force: true })
}
