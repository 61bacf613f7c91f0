// Kernel tests must never touch the host's network. requireFreshNetns() proves,
// before a test does anything, that we run inside the namespace test/kernel/run.mjs
// made: a different network namespace from the runner's and from PID 1's, holding
// nothing but lo and TUN devices, with a sysfs that shows this namespace.

import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readlinkSync } from 'node:fs'

/** Interface names in this namespace, from the kernel (not sysfs), sorted. */
export function interfaces(): string[] {
  // Lines look like "1: lo: <LOOPBACK,UP> ..." or "5: veth0@if4: <...> ...".
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map(line => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort()
}

/** Does this namespace have an interface called `name`? (Asks the kernel, not sysfs.) */
export function interfaceExists(name: string): boolean {
  return interfaces().includes(name)
}

export function requireFreshNetns(): void {
  const fail = (why: string): never => {
    throw new Error(`refusing to run kernel tests: ${why}; run them with: node test/kernel/run.mjs`)
  }
  const here = readlinkSync('/proc/self/ns/net')
  const host = process.env.TUNTCP_HOST_NETNS
  if (!host) fail('not started by test/kernel/run.mjs')
  if (here === host) fail('still in the network namespace of the runner')
  let init: string | null = null
  try {
    init = readlinkSync('/proc/1/ns/net')
  } catch {
    // /proc/1 is not always readable; the runner check above already holds.
  }
  if (init === here) fail("in the same network namespace as PID 1 (the host's)")
  const names = interfaces()
  const inSysfs = readdirSync('/sys/class/net').sort()
  if (names.join() !== inSysfs.join()) fail(`/sys shows another namespace (${inSysfs.join(', ')})`)
  const strangers = names.filter(name => name !== 'lo' && !existsSync(`/sys/class/net/${name}/tun_flags`))
  if (strangers.length > 0) fail(`this namespace has other interfaces (${strangers.join(', ')})`)
}
