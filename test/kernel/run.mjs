#!/usr/bin/env node
// Runs the kernel tests (test/kernel/**/*.test.ts) inside a fresh network namespace
// (with its own mount namespace and sysfs), so nothing they do can reach the host's interfaces:
//
//   node test/kernel/run.mjs [vitest args...]      e.g. test/kernel/tun-device.test.ts
//
// Without root, unshare, ip or /dev/net/tun the tests are skipped with one line and
// exit 0; under CI (CI set) that is a failure instead, so CI never passes by skipping.

import { spawn } from 'node:child_process'
import { accessSync, constants, existsSync, readlinkSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir || '.', command), constants.X_OK)
      return true
    } catch {}
  }
  return false
}

function whyNot() {
  if (process.platform !== 'linux') return `this is ${process.platform}, not Linux`
  if (process.getuid?.() !== 0) return 'not running as root (they create a network namespace and TUN devices: sudo npm test)'
  if (!onPath('unshare')) return 'unshare is not installed (util-linux)'
  if (!onPath('ip')) return 'ip is not installed (iproute2)'
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing (modprobe tun)'
  return null
}

const reason = whyNot()
if (reason) {
  if (process.env.CI) {
    console.error(`kernel tests cannot run under CI: ${reason}`)
    process.exit(1)
  }
  console.log(`kernel tests skipped: ${reason}`)
  process.exit(0)
}

// The guard in netns.ts compares against this to prove the tests left the host's namespace.
const env = { ...process.env, TUNTCP_HOST_NETNS: readlinkSync('/proc/self/ns/net') }
// -n: a new, empty network namespace. -m and a fresh sysfs: /sys/class/net shows the
// namespace sysfs was mounted in, so without this it would still list the host's devices.
const script = 'mount -t sysfs sysfs /sys && ip link set lo up && exec npx vitest run -c vitest.kernel.config.ts "$@"'
const child = spawn('unshare', ['-n', '-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
})

// Ctrl-C reaches the child through the terminal; a plain `kill` of us is passed on.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))

child.on('error', err => {
  console.error(`kernel tests: could not start unshare: ${err.message}`)
  process.exit(1)
})
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1))
})
