// A multi-queue TUN device (IFF_MULTI_QUEUE) against the real kernel: queues added by
// name, a disabled queue that only holds the device, the kernel keeping each flow on one
// queue, and one clear line for each misuse. (serve --workers: workers.test.ts.)

import { execFileSync } from 'node:child_process'
import { connect as netConnect, type Socket as NetSocket } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TunDevice, TunError } from '../../src/tun/tun-device'
import { configureKernelSide } from '../../src/tun/iproute'
import { interfaceExists, requireFreshNetns } from './netns'

const opened: TunDevice[] = []
function keep(dev: TunDevice): TunDevice {
  opened.push(dev)
  return dev
}

beforeAll(() => requireFreshNetns())
afterEach(() => {
  for (const dev of opened.splice(0).reverse()) dev.close()
})

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

function details(name: string): string {
  return execFileSync('ip', ['-d', 'link', 'show', name], { encoding: 'utf8' })
}

function expectTunError(f: () => unknown, code: string, line: string): void {
  let thrown: unknown
  try {
    f()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(TunError)
  expect((thrown as TunError).code).toBe(code)
  expect((thrown as TunError).message).toBe(line)
}

/** The source port of a TCP SYN from the kernel, or null for anything else. */
function synSourcePort(p: Uint8Array): number | null {
  if (p.length < 40 || p[0]! >> 4 !== 4 || p[9] !== 6) return null
  const tcp = (p[0]! & 0xf) * 4
  const flags = p[tcp + 13]!
  return (flags & 0x12) === 0x02 ? (p[tcp]! << 8) | p[tcp + 1]! : null
}

describe('a multi-queue TUN device', () => {
  it('adds queues by name; a disabled queue holds the device and gets nothing; each flow stays on one queue', async () => {
    const holder = keep(TunDevice.open({ name: 'tkmq4', multiQueue: true }))
    expect(holder.multiQueue).toBe(true)
    expect(holder.created).toBe(true)
    configureKernelSide('tkmq4', '10.67.4.1/24', 1500)
    holder.setQueueEnabled(false)
    const queues = [keep(TunDevice.openQueue('tkmq4')), keep(TunDevice.openQueue('tkmq4'))]
    expect(queues.map(q => q.created)).toEqual([false, false])
    expect(details('tkmq4')).toMatch(/multi_queue numqueues 2 numdisabled 1/)

    const heldPackets: number[] = []
    holder.onReceive(p => heldPackets.push(p.length))
    const ports = queues.map(() => new Set<number>())
    queues.forEach((q, i) => q.onReceive(p => {
      const port = synSourcePort(p)
      if (port !== null) ports[i]!.add(port)
    }))

    // 64 connection attempts from the kernel, each a flow of its own; nobody answers.
    const sockets: NetSocket[] = []
    for (let i = 0; i < 64; i++) sockets.push(netConnect({ host: '10.67.4.2', port: 80 }).on('error', () => {}))
    const seen = () => ports[0]!.size + ports[1]!.size
    for (let t = 0; t < 100 && seen() < 64; t++) await sleep(20)
    for (const s of sockets) s.destroy()

    expect(seen()).toBe(64)
    expect(ports[0]!.size).toBeGreaterThan(0)
    expect(ports[1]!.size).toBeGreaterThan(0)
    expect([...ports[0]!].filter(p => ports[1]!.has(p))).toEqual([]) // no flow on both
    expect(heldPackets).toEqual([])

    // The device lives while any queue is open, the disabled one included.
    for (const q of queues) q.close()
    expect(interfaceExists('tkmq4')).toBe(true)
    holder.close()
    expect(interfaceExists('tkmq4')).toBe(false)
  })

  it('gives an added queue the offload setting of the device', () => {
    const first = keep(TunDevice.open({ name: 'tkmq5', multiQueue: true, offload: false }))
    expect(first.offload).toBe(false)
    expect(keep(TunDevice.openQueue('tkmq5')).offload).toBe(false)
    const other = keep(TunDevice.open({ name: 'tkmq6', multiQueue: true }))
    expect(keep(TunDevice.openQueue('tkmq6')).offload).toBe(other.offload)
  })

  it('says so in one line when the device is missing, single-queue, or not multi-queue', () => {
    expectTunError(() => TunDevice.openQueue('tkmq7'), 'ENODEV',
      'tuntcp: no TUN device named tkmq7 to add a queue to: open it with multiQueue first')
    expect(interfaceExists('tkmq7')).toBe(false)

    const single = keep(TunDevice.open({ name: 'tkmq7' }))
    expect(single.multiQueue).toBe(false)
    expectTunError(() => TunDevice.openQueue('tkmq7'), 'EINVAL',
      'tuntcp: device tkmq7 exists but is not a multi-queue TUN device: choose another name')
    expectTunError(() => single.setQueueEnabled(false), 'EINVAL',
      'tuntcp: tkmq7 was not opened as a multi-queue device')

    keep(TunDevice.open({ name: 'tkmq8', multiQueue: true }))
    expectTunError(() => TunDevice.open({ name: 'tkmq8' }), 'EINVAL',
      'tuntcp: device tkmq8 exists but is not a single-queue TUN device: choose another name')
  })

  it('disables and enables a queue, and refuses to disable it twice', () => {
    const a = keep(TunDevice.open({ name: 'tkmq9', multiQueue: true }))
    keep(TunDevice.openQueue('tkmq9'))
    a.setQueueEnabled(false)
    expect(details('tkmq9')).toMatch(/numqueues 1 numdisabled 1/)
    expect(() => a.setQueueEnabled(false)).toThrow(/tuntcp: disabling a queue of tkmq9 failed/)
    a.setQueueEnabled(true)
    expect(details('tkmq9')).toMatch(/numqueues 2 numdisabled 0/)
  })
})
