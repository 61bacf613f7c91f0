// The kernel's side of the TUN link, configured with iproute2's `ip` command:
// bring the link up, set its MTU, give it addresses (the peer the stack talks to): an
// IPv4 one and, for a stack with IPv6, an IPv6 one (added `nodad`: usable at once).
// Every failure becomes a one-line TunError. Each takes an optional network namespace
// (`ip -n NAME`, as `ip netns` names them): tuntcp forward configures a device it moved there.

import { execFileSync } from 'node:child_process'
import { TunError } from './errors.js'
import { formatAddressV6, parseAddressV6 } from '../stack/wire/ipv6.js'

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

/** Parse 'X::Y/P' (an IPv6 address in any text form, prefix 0-128) to RFC 5952 text and the prefix; throws a TunError if it is not one. */
export function parseCidr6(cidr: string): { address: string; prefix: number } {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(cidr)
  const bytes = m === null ? null : parseAddressV6(m[1]!)
  if (m === null || bytes === null || Number(m[2]) > 128) {
    throw new TunError('EINVAL', `tuntcp: bad address ${JSON.stringify(cidr)}: write it as X::Y/PREFIX, e.g. fd77::1/64`)
  }
  return { address: formatAddressV6(bytes), prefix: Number(m[2]) }
}

/** Is this 'A.B.C.D/P' or 'X::Y/P' an IPv6 one? (By its colons; parse it to know it is good.) */
export function isCidr6(cidr: string): boolean {
  return cidr.includes(':')
}

/**
 * Give device `name` the address `cidr` (e.g. '10.77.0.1/24', or 'fd77::1/64'). Does nothing
 * if the device already has exactly that address; fails with EADDRINUSE if another device
 * (or this one, with another prefix) already holds it.
 */
export function addAddress(name: string, cidr: string, netns?: string): void {
  if (isCidr6(cidr)) return addAddress6(name, cidr, netns)
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

/** The IPv6 half of addAddress: `ip -6 addr add X/P dev NAME nodad` (no duplicate address detection: a TUN link has no other host). */
function addAddress6(name: string, cidr: string, netns?: string): void {
  const { address, prefix } = parseCidr6(cidr)
  try {
    // Lines look like: "5: tun0    inet6 fd77::1/64 scope global nodad \ ..."
    const listing = ip([...at(netns), '-o', '-6', 'addr', 'show'], 'listing addresses')
    for (const line of listing.split('\n')) {
      const m = /^\d+:\s+(\S+)\s+inet6\s+([0-9a-f:]+)\/(\d+)/.exec(line)
      if (!m || m[2] !== address) continue
      if (m[1] === name && Number(m[3]) === prefix) return
      throw new TunError('EADDRINUSE',
        `tuntcp: address ${address} is already in use on ${m[1]} (as ${m[2]}/${m[3]}): choose another address`)
    }
    ip([...at(netns), '-6', 'addr', 'add', `${address}/${prefix}`, 'dev', name, 'nodad'], `adding ${address}/${prefix} to ${name}`)
  } catch (err) { rethrow(err, name) }
}

/** Everything the kernel side needs: MTU, its addresses (IPv4 and/or IPv6), link up (in that order). */
export function configureKernelSide(name: string, cidr: string | readonly string[], mtu: number, netns?: string): void {
  const cidrs = typeof cidr === 'string' ? [cidr] : cidr
  for (const c of cidrs) isCidr6(c) ? parseCidr6(c) : parseCidr(c) // fail on a bad address before changing anything
  setMtu(name, mtu, netns)
  for (const c of cidrs) addAddress(name, c, netns)
  setLinkUp(name, netns)
}

/** Move device `name` from our namespace into `netns`; an open TUN fd stays valid (the device goes when it closes). */
export function moveToNetns(name: string, netns: string): void {
  try {
    ip(['link', 'set', 'dev', name, 'netns', netns], `moving ${name} into network namespace ${netns}`)
  } catch (err) { rethrow(err, name) }
}

/**
 * A default route out of device `name` (a point-to-point TUN link needs no gateway, nor
 * neighbour discovery for IPv6: the device has no link-layer addresses), in `netns`:
 * `ip route add default dev NAME`, or `ip -6 route add default dev NAME` for family 6.
 */
export function addDefaultRoute(name: string, netns?: string, family: 4 | 6 = 4): void {
  const f = family === 6 ? ['-6'] : []
  try {
    ip([...at(netns), ...f, 'route', 'add', 'default', 'dev', name], `adding an IPv${family} default route through ${name}`)
  } catch (err) { rethrow(err, name) }
}
