#!/usr/bin/env node
// The download of one tree, in a fresh network namespace, for before/after pairs and for
// `git bisect run` (docs/performance.md "The download row since RACK"): the stack of TREE's
// own src/ (under tsx, so any commit's sources run as they are) on TUN device tprobe1 with
// serveAll, and curl fetching /bytes/209715200 N times. Prints each run's MB/s and the best of
// the last five; nothing touches the host's interfaces.
//
//   sudo node bench/download-probe.mjs [TREE] [N]        TREE: a checkout (default: this one), N: 8
//   sudo node bench/download-probe.mjs TREE N --good=3600 --bad=3000
//       exit 0 (good) / 1 (bad) / 125 (between: skip) by the best, for `git bisect run`

import { spawn, spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inFreshNetns, root } from './processes.mjs'

const here = fileURLToPath(import.meta.url)
const args = process.argv.slice(2)
const flag = name => Number(args.find(a => a.startsWith(`--${name}=`))?.split('=')[1])
const [tree = root, n = '8'] = args.filter(a => !a.startsWith('--'))

inFreshNetns(here, args, 600_000)
if (args[0] === '--serve') {
  // The server, in the namespace: the tree's own modules.
  const { Stack, TunDevice, configureKernelSide, serveAll } = await import(`${args[1]}/src/index.ts`)
  const device = TunDevice.open({ name: 'tprobe1', mtu: 1500 })
  configureKernelSide(device.name, '10.78.3.1/24', 1500)
  serveAll(new Stack({ address: '10.78.3.2', link: device }))
  process.on('SIGTERM', () => { device.close(); process.exit(0) })
  console.log('READY')
} else {
  const server = spawn(process.execPath, ['--import', 'tsx', here, '--serve', resolve(tree)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((ok, fail) => {
    server.stdout.on('data', c => { if (String(c).includes('READY')) ok() })
    server.on('exit', code => fail(new Error(`the server exited (${code})`)))
  })
  const runs = []
  for (let i = 0; i < Number(n); i++) {
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{speed_download}', '--max-time', '30', 'http://10.78.3.2/bytes/209715200'], { encoding: 'utf8' })
    runs.push(Math.round(Number(r.stdout) / 1e6))
  }
  server.kill('SIGTERM')
  const best = Math.max(...runs.slice(-5))
  console.log(`${tree}: ${runs.join(' ')} MB/s; best of the last 5: ${best}`)
  const good = flag('good')
  const bad = flag('bad')
  if (Number.isFinite(good) && Number.isFinite(bad)) process.exit(best >= good ? 0 : best < bad ? 1 : 125)
}
