#!/usr/bin/env node
// The tuntcp command. The sources are TypeScript, run through tsx's loader.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/bin/main.ts')
process.exitCode = await main(process.argv.slice(2))
// Whatever is left (a closed TUN fd, stopped timers) must not keep us alive.
process.exit()
