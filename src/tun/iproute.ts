// The kernel's side of the TUN link, configured with iproute2's `ip` command:
// bring the link up, set its MTU, give it an address (the peer the stack talks to).
// Every failure becomes a one-line TunError. Each takes an optional network namespace
// (`ip -n NAME`, as `ip netns` names them): tuntcp forward configures a device it moved there.

import { execFileSync } from 'node:child_process'
import { TunError } from './errors.js'

/** Run `ip ARGS...`; return stdout, or throw a TunError saying what to do. */
function ip(args: string[], what: string): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    const err = e as Error & { code?: string; stderr?: string | Buffer }
    if (err.code === 'ENOENT') {
      throw new TunError('ENOENT', 'tuntcp: the ip command is not installed: install iproute2 (apt-get install iproute2)', { cause: err })
    }
    const stderr = String(err.stderr ?? '').trim()
    const detail = stderr.split('\n')[0] || err.message
    throw new TunError(classify(stderr), `tuntcp: ${what} failed: ${detail}`, { cause: err })
  }
}

/** `ip -n NETNS` for a named namespace, nothing for our own. */
function at(netns: string | undefined): string[] {
  return netns === undefined ? [] : ['-n', netns]
}

function classify(stderr: string): string {
  if (/Operation not permitted/i.test(stderr)) return 'EPERM'
  if (/Cannot find device|No such device/i.test(stderr)) return 'ENODEV'
  if (/already assigned|File exists/i.test(stderr)) return 'EADDRINUSE'
  if (/Invalid argument|less than|greater than|expected/i.test(stderr)) return 'EINVAL'
  return 'EIPROUTE'
}

/** Prefer clearer lines for the failures users actually hit. */
function rethrow(err: unknown, name: string): never {
  if (err instanceof TunError) {
    if (err.code === 'EPERM') {
      throw new TunError('EPERM', `tuntcp: configuring ${name} needs CAP_NET_ADMIN: run as root (sudo)`, { cause: err })
    }
    if (err.code === 'ENODEV') {
      throw new TunError('ENODEV', `tuntcp: no network device named ${name}`, { cause: err })
    }
  }
  throw err
}

export function setLinkUp(name: string, netns?: string): void {
  try {
    ip([...at(netns), 'link', 'set', 'dev', name, 'up'], `bringing ${name} up`)
  } catch (err) { rethrow(err, name) }
}

export function setMtu(name: string, mtu: number, netns?: string): void {
  if (!(Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535)) {
    throw new TunError('EINVAL', `tuntcp: bad MTU ${mtu}: use a whole number from 68 to 65535`)
  }
  try {
    ip([...at(netns), 'link', 'set', 'dev', name, 'mtu', String(mtu)], `setting the MTU of ${name} to ${mtu}`)
  } catch (err) { rethrow(err, name) }
}

/** Parse 'A.B.C.D/P'; throws a TunError if it is not one. */
export function parseCidr(cidr: string): { address: string; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr)
  const ok = m !== null && m.slice(1, 5).every(o => Number(o) <= 255) && Number(m[5]) <= 32
  if (!ok) throw new TunError('EINVAL', `tuntcp: bad address ${JSON.stringify(cidr)}: write it as A.B.C.D/PREFIX, e.g. 10.77.0.1/24`)
  return { address: m.slice(1, 5).map(Number).join('.'), prefix: Number(m[5]) }
}

/**
 * Give device `name` the address `cidr` (e.g. '10.77.0.1/24'). Does nothing if the
 * device already has exactly that address; fails with EADDRINUSE if another device
 * (or this one, with another prefix) already holds it.
 */
export function addAddress(name: string, cidr: string, netns?: string): void {
  const { address, prefix } = parseCidr(cidr)
  try {
    // Lines look like: "5: tun0    inet 10.77.0.1/24 scope global tun0\ ..."
    const listing = ip([...at(netns), '-o', '-4', 'addr', 'show'], 'listing addresses')
    for (const line of listing.split('\n')) {
      const m = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\/(\d+)/.exec(line)
      if (!m || m[2] !== address) continue
      if (m[1] === name && Number(m[3]) === prefix) return
      throw new TunError('EADDRINUSE',
        `tuntcp: address ${address} is already in use on ${m[1]} (as ${m[2]}/${m[3]}): choose another address`)
    }
    ip([...at(netns), 'addr', 'add', `${address}/${prefix}`, 'dev', name], `adding ${address}/${prefix} to ${name}`)
  } catch (err) { rethrow(err, name) }
}

/** Everything the kernel side needs: MTU, address, link up (in that order). */
export function configureKernelSide(name: string, cidr: string, mtu: number, netns?: string): void {
  parseCidr(cidr)  // fail on a bad address before changing anything
  setMtu(name, mtu, netns)
  addAddress(name, cidr, netns)
  setLinkUp(name, netns)
}

/** Move device `name` from our namespace into `netns`; an open TUN fd stays valid (the device goes when it closes). */
export function moveToNetns(name: string, netns: string): void {
  try {
    ip(['link', 'set', 'dev', name, 'netns', netns], `moving ${name} into network namespace ${netns}`)
  } catch (err) { rethrow(err, name) }
}

/** A default route out of device `name` (a point-to-point TUN link needs no gateway), in `netns`. */
export function addDefaultRoute(name: string, netns?: string): void {
  try {
    ip([...at(netns), 'route', 'add', 'default', 'dev', name], `adding a default route through ${name}`)
  } catch (err) { rethrow(err, name) }
}
