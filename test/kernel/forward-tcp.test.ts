// Any-destination TCP and ping against the kernel: a route sends 198.51.100.0/24 (TEST-NET-2)
// into the TUN device, as a forwarder's namespace does with its default route, and the stack
// (promiscuous) takes connections and pings for those addresses, which it does not own,
// answering from them. The 'syn' hook accepts (an echo), or refuses (the kernel's connect sees
// ECONNREFUSED), and ping gets its reply from the address pinged.

import { connect as netConnect, type Socket as NetSocket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../../src/stack/stack'
import type { SynRequest } from '../../src/stack/socket/syn-request'
import { configureKernelSide } from '../../src/tun/iproute'
import { TunDevice } from '../../src/tun/tun-device'
import { run, runText } from './helpers'
import { requireFreshNetns } from './netns'

let device: TunDevice
let stack: Stack
const internalErrors: unknown[] = []
const syns: string[] = []

beforeAll(async () => {
  requireFreshNetns()
  device = TunDevice.open({ name: 'tkfwd0', mtu: 1500 })
  configureKernelSide('tkfwd0', '10.94.0.1/24', 1500)
  stack = new Stack({ address: '10.94.0.2', link: device, promiscuous: true, mslMs: 1000 })
  stack.on('internal-error', (e: unknown) => internalErrors.push(e))
  stack.on('syn', (syn: SynRequest) => {
    syns.push(`${syn.remoteAddress} -> ${syn.localAddress}:${syn.localPort}`)
    if (syn.localPort !== 8080) return syn.refuse()
    // Later, as a forwarder decides once its upstream connect is done.
    setTimeout(() => void syn.accept().then(sock => sock.pipe(sock)), 50)
  })
  expect((await run('ip', ['route', 'add', '198.51.100.0/24', 'dev', 'tkfwd0'])).code).toBe(0)
})

afterAll(async () => {
  await stack?.shutdown(300)
  device?.close()
  expect(internalErrors).toEqual([])
})

function connect(host: string, port: number): Promise<NetSocket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host, port })
    sock.once('connect', () => resolve(sock))
    sock.once('error', reject)
  })
}

describe('any-destination TCP and ping with the kernel', () => {
  it('a kernel connect to 198.51.100.7:8080 is accepted by the syn hook and echoed, from that address', async () => {
    const sock = await connect('198.51.100.7', 8080)
    expect([sock.remoteAddress, sock.remotePort]).toEqual(['198.51.100.7', 8080])
    const echoed = new Promise<string>(resolve => {
      const chunks: Buffer[] = []
      sock.on('data', (c: Buffer) => chunks.push(c))
      sock.on('end', () => resolve(Buffer.concat(chunks).toString()))
    })
    const rows = stack.connections().map(c => `${c.localAddress}:${c.localPort} ${c.remoteAddress}`)
    expect(rows).toContain('198.51.100.7:8080 10.94.0.1')
    sock.end('through the stack')
    expect(await echoed).toBe('through the stack')
    sock.destroy()
    expect(syns[0]).toBe('10.94.0.1 -> 198.51.100.7:8080')
  })

  it('a refused one gets ECONNREFUSED', async () => {
    await expect(connect('198.51.100.7', 9999)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    expect(syns).toContain('10.94.0.1 -> 198.51.100.7:9999')
  })

  it('ping -c1 198.51.100.9 gets a reply, answered by the stack', async () => {
    const r = await runText('ping', ['-c1', '-W2', '198.51.100.9'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/from 198\.51\.100\.9/)
    expect(stack.counters.pingsAnswered).toBeGreaterThanOrEqual(1)
  })
})
