// The TUN device against the real kernel, inside the namespace test/kernel/run.mjs makes.
// The kernel side is 10.99.0.1/24; the stack would be 10.99.0.2 (here the test plays it).

import { execFile, execFileSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TunDevice, TunError } from '../../src/tun/tun-device'
import { addAddress, configureKernelSide } from '../../src/tun/iproute'
import { requireFreshNetns } from './netns'

const DEV = 'tt-test0'
const KERNEL = '10.99.0.1'
const STACK = '10.99.0.2'

const opened: TunDevice[] = []
function open(name = DEV, mtu?: number): TunDevice {
  const dev = TunDevice.open({ name, mtu })
  opened.push(dev)
  return dev
}

beforeAll(() => requireFreshNetns())
afterEach(() => {
  for (const dev of opened.splice(0)) dev.close()
})

// --- just enough IPv4 and ICMP to answer a ping by hand -----------------------

function ipString(p: Uint8Array, at: number): string {
  return `${p[at]}.${p[at + 1]}.${p[at + 2]}.${p[at + 3]}`
}

/** RFC 1071 Internet checksum over p[start, end). */
function checksum(p: Uint8Array, start: number, end: number): number {
  let sum = 0
  for (let i = start; i < end; i += 2) sum += (p[i]! << 8) | (i + 1 < end ? p[i + 1]! : 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

function isEchoRequest(p: Uint8Array): boolean {
  return p.length >= 28 && p[0]! >> 4 === 4 && p[9] === 1 && p[(p[0]! & 0xf) * 4] === 8
}

/** The echo reply to an echo request: swap addresses, type 0, fresh checksums. */
function echoReply(request: Uint8Array): Uint8Array {
  const p = request.slice()
  const ihl = (p[0]! & 0xf) * 4
  p.copyWithin(12, 16, 20)  // dst -> src
  p.set(request.subarray(12, 16), 16)  // src -> dst
  p[8] = 64  // TTL
  p[10] = p[11] = 0
  const ipSum = checksum(p, 0, ihl)
  p[10] = ipSum >> 8
  p[11] = ipSum & 0xff
  p[ihl] = 0  // echo reply
  p[ihl + 2] = p[ihl + 3] = 0
  const icmpSum = checksum(p, ihl, p.length)
  p[ihl + 2] = icmpSum >> 8
  p[ihl + 3] = icmpSum & 0xff
  return p
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function ping(host: string): Promise<number> {
  return new Promise(resolve => {
    execFile('ping', ['-c1', '-W1', host], err => resolve(err ? Number((err as { code?: number }).code ?? 1) : 0))
  })
}

function expectTunError(f: () => unknown, code: string, message: RegExp): TunError {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(TunError)
    const e = err as TunError
    expect(e.code).toBe(code)
    expect(e.message).toMatch(message)
    expect(e.message).not.toContain('\n')
    return e
  }
  throw new Error(`expected a TunError ${code}, nothing was thrown`)
}

// -----------------------------------------------------------------------------

describe('TunDevice on a real kernel', () => {
  it('creates a device that did not exist, and sets its MTU', () => {
    expect(existsSync(`/sys/class/net/${DEV}`)).toBe(false)
    const dev = open(DEV, 1400)
    expect(dev.name).toBe(DEV)
    expect(dev.created).toBe(true)
    expect(dev.mtu).toBe(1400)
    expect(existsSync(`/sys/class/net/${DEV}`)).toBe(true)
  })

  it("receives the kernel's ping as IPv4/ICMP and a hand-made reply makes ping succeed", async () => {
    const dev = open()
    configureKernelSide(DEV, `${KERNEL}/24`, 1500)
    const requests: Uint8Array[] = []
    dev.onReceive(packet => {
      if (!isEchoRequest(packet)) return  // e.g. IPv6 chatter
      requests.push(packet.slice())
      dev.send(echoReply(packet))
    })
    expect(await ping(STACK)).toBe(0)
    expect(requests.length).toBe(1)
    const p = requests[0]!
    expect(p[0]! >> 4).toBe(4)  // IPv4
    expect(p[9]).toBe(1)  // protocol ICMP
    expect(ipString(p, 12)).toBe(KERNEL)
    expect(ipString(p, 16)).toBe(STACK)
    expect(checksum(p, 0, (p[0]! & 0xf) * 4)).toBe(0)  // the kernel's header checksum verifies
    expect(dev.counters.packetsWritten).toBe(1)
    expect(dev.counters.writeDrops + dev.counters.writeErrors).toBe(0)
  })

  it('reads a burst in a few batches, not one callback per packet', async () => {
    const dev = open()
    configureKernelSide(DEV, `${KERNEL}/24`, 1500)
    const N = 200
    let udp = 0
    dev.onReceive(packet => {
      if (packet[0]! >> 4 === 4 && packet[9] === 17) udp++
    })
    const sock = createSocket('udp4')
    await new Promise<void>(resolve => sock.bind(0, KERNEL, resolve))
    const batchesBefore = dev.counters.readBatches
    for (let i = 0; i < N; i++) sock.send(Buffer.alloc(100, i), 9, STACK)
    for (let i = 0; i < 100 && udp < N; i++) await new Promise(r => setTimeout(r, 10))
    sock.close()
    expect(udp).toBe(N)
    const batches = dev.counters.readBatches - batchesBefore
    expect(batches).toBeLessThan(N / 4)
  })

  it('refuses a second open of the same device with EBUSY', () => {
    open()
    expectTunError(() => open(), 'EBUSY', /^tuntcp: device tt-test0 is busy: another process has it open$/)
  })

  it('removes a device it created on close(), and close() is idempotent', () => {
    const dev = open()
    expect(existsSync(`/sys/class/net/${DEV}`)).toBe(true)
    dev.close()
    expect(existsSync(`/sys/class/net/${DEV}`)).toBe(false)
    dev.close()
    dev.send(new Uint8Array(20))  // dropped, never throws
    expect(dev.counters.writeDrops).toBe(1)
  })

  it('attaches to an existing persistent device and leaves it in place', () => {
    execFileSync('ip', ['tuntap', 'add', 'dev', 'tt-pers0', 'mode', 'tun'])
    try {
      const dev = open('tt-pers0')
      expect(dev.created).toBe(false)
      dev.close()
      expect(existsSync('/sys/class/net/tt-pers0')).toBe(true)
    } finally {
      execFileSync('ip', ['tuntap', 'del', 'dev', 'tt-pers0', 'mode', 'tun'])
    }
  })

  it('gives one clear line for bad names and non-TUN devices', () => {
    expectTunError(() => open('a-name-far-too-long'), 'EINVAL', /^tuntcp: bad device name "a-name-far-too-long": use 1 to 15/)
    expectTunError(() => open('a/b'), 'EINVAL', /^tuntcp: bad device name/)
    expectTunError(() => open(''), 'EINVAL', /^tuntcp: bad device name/)
    expectTunError(() => open('lo'), 'EINVAL', /^tuntcp: device lo exists but is not a single-queue TUN device/)
    expectTunError(() => open(DEV, 20), 'EINVAL', /^tuntcp: bad MTU 20/)
  })

  // Each runs a child process in a setting we cannot make in-process: without
  // CAP_NET_ADMIN (setpriv), and without /dev/net/tun (an empty /dev/net in a new mount namespace).
  const tryOpen = `import { TunDevice } from './src/tun/tun-device.ts'
    try { TunDevice.open({ name: 'tt-test9' }); console.log('opened') } catch (e) { console.log(e.code + ' ' + e.message) }`
  const node = ['node', '--import', 'tsx', '--input-type=module', '-e', tryOpen]

  it.skipIf(!hasCommand('setpriv'))('without CAP_NET_ADMIN: one line saying to run as root (EPERM)', () => {
    const out = execFileSync('setpriv', ['--bounding-set=-net_admin', '--inh-caps=-net_admin', ...node], { encoding: 'utf8' })
    expect(out.trim()).toBe('EPERM tuntcp: opening the TUN device needs CAP_NET_ADMIN: run as root (sudo)')
  })

  it('without /dev/net/tun: one line saying to load the module (ENOENT)', () => {
    const out = execFileSync('unshare', ['-m', '--', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$@"', 'sh', ...node], { encoding: 'utf8' })
    expect(out.trim()).toBe('ENOENT tuntcp: /dev/net/tun not found: load the tun module (modprobe tun)')
  })

  it('reports a device deleted under it through onError, and still closes cleanly', async () => {
    const dev = open()
    dev.onReceive(() => {})
    const err = await new Promise<TunError>(resolve => {
      dev.onError(resolve)
      execFileSync('ip', ['link', 'del', DEV])
    })
    expect(err).toBeInstanceOf(TunError)
    expect(err.message).toMatch(/^tuntcp: reading from device tt-test0 failed/)
    dev.close()
  })

  it('iproute: re-adding the same address is a no-op; one held elsewhere is EADDRINUSE', () => {
    open()
    configureKernelSide(DEV, `${KERNEL}/24`, 1500)
    addAddress(DEV, `${KERNEL}/24`)
    execFileSync('ip', ['addr', 'add', '10.98.0.1/32', 'dev', 'lo'])
    expectTunError(() => addAddress(DEV, '10.98.0.1/24'), 'EADDRINUSE', /^tuntcp: address 10\.98\.0\.1 is already in use on lo/)
    expectTunError(() => addAddress(DEV, '10.98.0.300/24'), 'EINVAL', /^tuntcp: bad address/)
    expectTunError(() => configureKernelSide('tt-none', `${KERNEL}/24`, 1500), 'ENODEV', /^tuntcp: no network device named tt-none$/)
  })
})
