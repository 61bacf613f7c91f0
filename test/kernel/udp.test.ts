// UDP against the kernel's: Node's dgram (the kernel's UDP, in this process) and a stack
// UdpSocket exchange datagrams across the TUN device both ways; a closed port on the stack
// answers with ICMP port unreachable, which a connected kernel socket reports as
// ECONNREFUSED and nc -u sees; and the other way round. The stack is 10.92.0.2, the kernel 10.92.0.1.

import { createSocket as kernelSocket, type RemoteInfo, type Socket as KernelSocket } from 'node:dgram'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Stack } from '../../src/stack/stack'
import type { UdpFlow } from '../../src/stack/udp/flow'
import type { UdpSocket } from '../../src/stack/udp/socket'
import { configureKernelSide } from '../../src/tun/iproute'
import { TunDevice } from '../../src/tun/tun-device'
import { run, stackOnTun, type TunStack } from './helpers'
import { requireFreshNetns } from './netns'

const KERNEL = '10.92.0.1'
const ADDR = '10.92.0.2'

let tun: TunStack
let stack: Stack
const open: Array<KernelSocket | UdpSocket> = []

beforeAll(() => {
  requireFreshNetns()
  tun = stackOnTun('tkudp0', KERNEL, ADDR)
  stack = tun.stack
})

afterEach(() => {
  for (const s of open.splice(0)) {
    try { s.close() } catch { /* closed already */ }
  }
  expect(tun.internalErrors).toEqual([])
})

afterAll(() => tun?.close())

function kernel(): KernelSocket {
  const s = kernelSocket('udp4')
  open.push(s)
  return s
}

function ours(): UdpSocket {
  const s = stack.createSocket('udp4')
  open.push(s)
  return s
}

/** The next 'message' of a socket, or a failure after timeoutMs. */
function nextMessage(s: KernelSocket | UdpSocket, timeoutMs = 5000): Promise<[Buffer, RemoteInfo]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no datagram within ${timeoutMs} ms`)), timeoutMs)
    s.once('message', (msg: Buffer, rinfo: RemoteInfo) => { clearTimeout(timer); resolve([msg, rinfo]) })
  })
}

function nextError(s: KernelSocket | UdpSocket, timeoutMs = 5000): Promise<Error & { code?: string; syscall?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no error within ${timeoutMs} ms`)), timeoutMs)
    s.once('error', e => { clearTimeout(timer); resolve(e) })
  })
}

const bound = (s: KernelSocket | UdpSocket, port: number, address?: string) =>
  new Promise<void>(resolve => (s as KernelSocket).bind(port, address, () => resolve()))

describe('UDP with the kernel', () => {
  it('echoes a kernel dgram socket\'s datagram from a stack UdpSocket', async () => {
    const echo = ours()
    echo.on('message', (msg: Buffer, rinfo: RemoteInfo) => echo.send(msg, rinfo.port, rinfo.address))
    await bound(echo, 7)
    const client = kernel()
    await bound(client, 0, KERNEL)
    const reply = nextMessage(client)
    client.send('hello from the kernel', 7, ADDR)
    const [msg, rinfo] = await reply
    expect(msg.toString()).toBe('hello from the kernel')
    expect(rinfo).toMatchObject({ address: ADDR, port: 7, family: 'IPv4', size: 21 })
  })

  it('sends from a stack UdpSocket to a kernel dgram server and gets its answer, a full 1472-byte datagram each way', async () => {
    const server = kernel()
    server.on('message', (msg: Buffer, rinfo: RemoteInfo) => server.send(Buffer.concat([Buffer.from('re:'), msg.subarray(3)]), rinfo.port, rinfo.address))
    await bound(server, 0, KERNEL)
    const port = server.address().port
    const client = ours()
    const first = nextMessage(client)
    client.send('hi from the stack', port, KERNEL)
    const [msg, rinfo] = await first
    expect(msg.toString()).toBe('re:from the stack')
    expect(rinfo).toMatchObject({ address: KERNEL, port })
    const big = Buffer.alloc(1472, 0x61)
    const second = nextMessage(client)
    client.send(big, port, KERNEL)
    const [back] = await second
    expect(back.length).toBe(1472)
    expect(back.subarray(3).equals(big.subarray(3))).toBe(true)
  })

  it('answers a connected kernel socket\'s datagram to a closed port with port unreachable: the kernel reports ECONNREFUSED', async () => {
    const client = kernel()
    await new Promise<void>(resolve => client.connect(9999, ADDR, () => resolve()))
    const failed = nextError(client)
    client.send('anyone there?')
    expect(await failed).toMatchObject({ code: 'ECONNREFUSED', syscall: 'recvmsg' })
  })

  it('makes nc -u -v to a closed port on the stack fail (exit 1, the ICMP error), and to an open one succeed', async () => {
    const before = stack.counters.icmpErrorsSent
    // With -v, OpenBSD nc first probes a UDP port with a few one-byte writes: the kernel turns
    // our port unreachable into ECONNREFUSED on a later one, and nc gives up with status 1.
    const refused = await run('nc', ['-u', '-v', '-w', '2', ADDR, '9998'], { input: 'hello\n', timeoutMs: 20_000 })
    expect(refused.code).toBe(1)
    expect(refused.stderr).not.toMatch(/succeeded/)
    expect(stack.counters.icmpErrorsSent).toBeGreaterThan(before)
    const listener = ours()
    const got: string[] = []
    listener.on('message', (msg: Buffer) => got.push(msg.toString()))
    await bound(listener, 9997)
    const accepted = await run('nc', ['-u', '-v', '-w', '1', ADDR, '9997'], { input: 'hello\n', timeoutMs: 20_000 })
    expect(accepted.stderr).toMatch(/Connection to 10\.92\.0\.2 9997 port \[udp\/\*\] succeeded!/)
    expect(accepted.code).toBe(0)
    expect(got).toContain('hello\n')
  })

  it('reports a kernel\'s port unreachable to a connected stack UdpSocket as ECONNREFUSED', async () => {
    const client = ours()
    await new Promise<void>(resolve => client.connect(9, KERNEL, () => resolve()))
    const failed = nextError(client)
    client.send('is 9 open?')
    expect(await failed).toMatchObject({ code: 'ECONNREFUSED', syscall: 'recvmsg', message: 'recvmsg ECONNREFUSED' })
  })

  it('in any-destination mode answers a kernel datagram to an address routed into the TUN device from that address', async () => {
    // A second device, and a route sending 198.51.100.0/24 (TEST-NET-2) into it, as a forwarder's namespace has.
    const device = TunDevice.open({ name: 'tkudp1', mtu: 1500 })
    configureKernelSide('tkudp1', '10.93.0.1/24', 1500)
    const forwarder = new Stack({ address: '10.93.0.2', link: device, promiscuous: true })
    try {
      expect((await run('ip', ['route', 'add', '198.51.100.0/24', 'dev', 'tkudp1'])).code).toBe(0)
      const flows: string[] = []
      forwarder.on('udp-flow', (flow: UdpFlow) => {
        flows.push(`${flow.remoteAddress} -> ${flow.localAddress}:${flow.localPort}`)
        if (flow.localPort !== 53) return flow.refuse()
        const socket = flow.accept()
        socket.on('message', (msg: Buffer) => socket.send(`answer to ${msg}`))
      })
      const client = kernel()
      const reply = nextMessage(client)
      client.send('query', 53, '198.51.100.7')
      const [msg, rinfo] = await reply
      expect(msg.toString()).toBe('answer to query')
      expect(rinfo).toMatchObject({ address: '198.51.100.7', port: 53 })
      // A refused flow: the kernel takes our ICMP, sent from 198.51.100.7, as that host's refusal.
      const refused = kernel()
      await new Promise<void>(resolve => refused.connect(5353, '198.51.100.7', () => resolve()))
      const failed = nextError(refused)
      refused.send('anyone?')
      expect(await failed).toMatchObject({ code: 'ECONNREFUSED' })
      expect(flows).toEqual([`10.93.0.1 -> 198.51.100.7:53`, `10.93.0.1 -> 198.51.100.7:5353`]) // the kernel sends from the route's device
    } finally {
      await forwarder.shutdown(100)
      device.close()
    }
  })
})
