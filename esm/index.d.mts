// Types of esm/index.mjs. dist/index.d.ts is a CommonJS module's types: what a default import of
// it means differs between moduleResolution node16 (module.exports) and bundler (exports.default),
// so the default export here is typed from a named one, the same plugin under either.
import { fastifyRfc6455 } from '../dist/index.js'

declare const plugin: typeof fastifyRfc6455
export default plugin
export * from '../dist/index.js'
