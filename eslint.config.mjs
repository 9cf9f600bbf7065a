// The Fastify family's style (neostandard: standard's rules for JavaScript and TypeScript), run by
// `npm run lint` and by `npm test`.
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'cjs/**', 'esm/**', 'bench/results/**', '.ci/**', 'coverage/**', '.tap/**']
  }),
  {
    // the chat demo's page runs in the browser
    files: ['example-app/public/**/*.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', WebSocket: 'readonly', location: 'readonly', localStorage: 'readonly' } }
  }
]
