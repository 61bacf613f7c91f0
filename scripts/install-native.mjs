// npm's install step for tuntcp: build the native TUN binding (binding.gyp, src/tun/native/tun.c)
// with node-gyp where a compiler exists. It is optional: without python3, make or a C
// compiler the install still succeeds, and everything but TunDevice works; this prints one
// line saying so and how to build it later. node-gyp's output goes to build/native-build.log.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const log = 'build/native-build.log'
const LATER = 'everything but TunDevice works without it; to build it later: npm rebuild tuntcp (needs python3, make and a C compiler)'

if (process.platform !== 'linux') {
  console.log(`tuntcp: the native TUN binding is Linux-only, not built on ${process.platform}; ${LATER.split(';')[0]}`)
  process.exit(0)
}

// npm tells its scripts where its own node-gyp is; otherwise take the one on PATH.
const gyp = process.env.npm_config_node_gyp
const [command, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']]
const run = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 })
mkdirSync(new URL('../build', import.meta.url), { recursive: true })
writeFileSync(new URL(`../${log}`, import.meta.url),
  `$ ${command} ${args.join(' ')}\n${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) + '\n' : ''}`)

if (run.status === 0) {
  console.log('tuntcp: built the native TUN binding (build/Release/tuntcp_tun.node)')
} else {
  console.log(`tuntcp: the native TUN binding was not built (see ${log}); ${LATER}`)
}
