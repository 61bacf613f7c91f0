#!/usr/bin/env node
// The tuntcp command: the compiled JavaScript in dist/ (npm run build makes it; a packed
// or installed package carries it), so it starts without a TypeScript loader.
let main
try {
  ({ main } = await import('../dist/bin/main.js'))
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bin/main.js')) throw error
  console.error('tuntcp: dist/ is missing: run npm run build (in a checkout of tuntcp) first')
  process.exit(1)
}
process.exitCode = await main(process.argv.slice(2))
// Whatever is left (a closed TUN fd, stopped timers) must not keep us alive.
process.exit()
