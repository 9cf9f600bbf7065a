'use strict'
// `node no-any.js tsconfig.json` in a project with typescript installed: compiles the project as
// `tsc -p` does (errors printed, files emitted unless noEmit), then fails listing every parameter,
// variable or destructured name of the project's own files whose type is `any`. noImplicitAny
// does not catch these: a callback passed where the expected type is `any` gets `any` parameters
// without an error, so an untyped event or handler would slip through a strict build.
// One program for both (a second `tsc` run would double the time CI spends here).
const path = require('node:path')
const ts = require(require.resolve('typescript', { paths: [process.cwd()] }))

const configPath = path.resolve(process.argv[2] ?? 'tsconfig.json')
const { config } = ts.readConfigFile(configPath, ts.sys.readFile)
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(configPath))
const program = ts.createProgram(parsed.fileNames, parsed.options)
const emitted = program.emit()
const diagnostics = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics)
if (diagnostics.length > 0) {
  console.log(ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: f => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n'
  }))
  process.exit(1)
}

const checker = program.getTypeChecker()
const found = []
for (const file of parsed.fileNames) {
  const source = program.getSourceFile(file)
  const visit = (node) => {
    if ((ts.isParameter(node) || ts.isVariableDeclaration(node) || ts.isBindingElement(node)) && ts.isIdentifier(node.name)) {
      const type = checker.getTypeAtLocation(node.name)
      if ((type.flags & ts.TypeFlags.Any) !== 0) {
        const { line, character } = source.getLineAndCharacterOfPosition(node.name.getStart(source))
        found.push(`${path.basename(file)}:${line + 1}:${character + 1} \`${node.name.text}\` is any`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
}
if (found.length > 0) {
  console.log(found.join('\n'))
  process.exitCode = 1
}
