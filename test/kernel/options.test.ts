// TCP options against the kernel: window scaling, timestamps and SACK
// (RFC 7323, RFC 2018) negotiated with a real Linux peer, as `ss -tin` shows
// them on the kernel's side, for passive opens (kernel client -> our server)
// and active ones (our connect -> kernel listener); then large transfers both
// ways with a SHA-256 match. The stack is 10.63.0.2 on a TUN device, the kernel 10.63.0.1.

import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer as netCreateServer, type Server as NetServer, type Socket as NetSocket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Socket } from '../../src/stack/socket/socket'
import { Stack } from '../../src/stack/stack'
import { configureKernelSide } from '../../src/tun/iproute'
import { TunDevice } from '../../src/tun/tun-device'
import type { Link } from '../../src/tun/link'
import { SYN, type TcpOptions, type TcpSegment } from '../../src/stack/wire/tcp'
import { closeLeftOpen, KernelSockets, sha, waitFor } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tkopt0'
const KERNEL = '10.63.0.1'
const ADDR = '10.63.0.2'
const ECHO_PORT = 5007
const KERNEL_PORT = 9107
const BIG = 20 * 1024 * 1024

let device: TunDevice | undefined
let stack: Stack
const internalErrors: unknown[] = []
const kernelSockets = new KernelSockets()
/** A kernel TCP connection to the stack, resolved once connected. */
const dial = (port: number) => kernelSockets.dial(ADDR, port, true)
const kernelServers: NetServer[] = []
const stackSockets: Socket[] = []

/** Outgoing data packets to lose on purpose (to make the kernel SACK a hole), after letting `skipDataPackets` pass. */
let dropDataPackets = 0
let skipDataPackets = 0
/** Every segment the kernel sent us: port pair and options. */
const fromKernel: Array<{ srcPort: number; dstPort: number; syn: boolean; options: TcpOptions }> = []

/** The TUN device, with a way to lose chosen outgoing data packets. */
function lossyLink(dev: TunDevice): Link {
  return {
    mtu: dev.mtu,
    tsoMaxPayload: dev.tsoMaxPayload,
    send(packet, segmentSize) {
      const payload = packet.length - 20 - ((packet[32]! >> 4) * 4)
      if (dropDataPackets > 0 && payload > 0) {
        if (skipDataPackets > 0) skipDataPackets--
        else {
          dropDataPackets--
          return
        }
      }
      dev.send(packet, segmentSize)
    },
    onReceive: handler => dev.onReceive(handler),
    close: () => dev.close(),
  }
}

beforeAll(() => {
  requireFreshNetns()
  device = TunDevice.open({ name: DEV, mtu: 1500 })
  configureKernelSide(DEV, `${KERNEL}/24`, 1500)
  stack = new Stack({ address: ADDR, link: lossyLink(device), mslMs: 1000 })
  stack.on('internal-error', (e: unknown) => internalErrors.push(e))
  stack.on('segment', (dir: string, { seg }: { seg: TcpSegment }) => {
    if (dir === 'in') fromKernel.push({ srcPort: seg.srcPort, dstPort: seg.dstPort, syn: (seg.flags & SYN) !== 0, options: seg.options })
  })
  stack.createServer({ allowHalfOpen: true }, sock => {
    sock.on('error', () => {})
    sock.pipe(sock)
  }).listen(ECHO_PORT)
})

afterEach(async () => {
  await closeLeftOpen(kernelSockets, stackSockets, kernelServers)
  expect(internalErrors).toEqual([])
})

afterAll(async () => {
  await stack?.shutdown(300)
  device?.close()
})

// --- helpers -----------------------------------------------------------------


/** The kernel's `ss -tin` lines for its end of the connection to `peerPort` on the stack, or from `localPort`. */
function ss(filter: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-tinH', 'state', 'established', ...filter.split(' ')], (err, out) => (err ? reject(err) : resolve(out)))
  })
}

/** Write `data`, end, and read everything until the peer's FIN. */
function roundTrip(sock: NetSocket | Socket, data: Buffer, timeoutMs = 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const timer = setTimeout(() => reject(new Error(`no end within ${timeoutMs} ms (got ${Buffer.concat(chunks).length} bytes)`)), timeoutMs)
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('end', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)) })
    sock.on('error', e => { clearTimeout(timer); reject(e) })
    sock.end(data)
  })
}

/** A kernel echo server on KERNEL:port. */
function kernelEcho(port: number): Promise<NetServer> {
  return new Promise(resolve => {
    const server = netCreateServer({ allowHalfOpen: true }, s => { s.on('error', () => {}); s.pipe(s) })
    kernelServers.push(server)
    server.listen(port, KERNEL, () => resolve(server))
  })
}

/** Our active open to the kernel, resolved once ESTABLISHED. */
function stackDial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = stack.connect({ host: KERNEL, port, allowHalfOpen: true })
    stackSockets.push(sock)
    sock.once('connect', () => resolve(sock))
    sock.once('error', reject)
  })
}

/**
 * The kernel's view from `ss -i`: wscale:SND,RCV (SND is the shift it applies to
 * our windows) and its MSS, 12 bytes short of 1460 when it uses timestamps. This
 * ss (iproute2 6.1) does not print "ts" and "sack" for this kernel even between
 * two kernel sockets, so those two are shown by the kernel's segments instead.
 */
function kernelView(line: string): { wscale: string | undefined; mss: number } {
  return { wscale: /\bwscale:(\d+,\d+)/.exec(line)?.[1], mss: Number(/\bmss:(\d+)/.exec(line)?.[1]) }
}

/** Every segment the kernel sent on this connection after its SYN carried TSopt: the kernel has timestamps on. */
function kernelUsesTimestamps(kernelPort: number, stackPort: number): boolean {
  const segs = fromKernel.filter(s => s.srcPort === kernelPort && s.dstPort === stackPort && !s.syn)
  return segs.length > 0 && segs.every(s => s.options.timestamp !== undefined && s.options.timestamp.echo !== 0)
}

// -----------------------------------------------------------------------------

describe('negotiated with the kernel (its view from ss -tin and its segments)', () => {
  it('passive open (kernel client -> our server): wscale, ts and sack all on', async () => {
    const sock = await dial(ECHO_PORT)
    sock.write('hello')
    await new Promise(r => sock.once('data', r))
    const view = kernelView(await ss(`dst ${ADDR}:${ECHO_PORT} sport = :${sock.localPort}`))
    // The kernel applies our shift (6, for a 2 MiB buffer) and takes 12 bytes per segment for TSopt.
    expect(view.wscale).toMatch(/^6,\d+$/)
    expect(view.mss).toBe(1448)
    expect(kernelUsesTimestamps(sock.localPort!, ECHO_PORT)).toBe(true)
    const ours = stack.connections().find(c => c.remotePort === sock.localPort)!
    expect(ours.options).toEqual({ wscale: { snd: Number(view.wscale!.split(',')[1]), rcv: 6 }, timestamps: true, sack: true, ecn: false })
    expect(ours.mss).toBe(1448) // 1460 less the 12 bytes of the timestamps option
  })

  it("the stack's TCP_INFO of a kernel sender: its MSS learned from its segments (rcv_mss), segments counted, min RTT, path MTU", async () => {
    const sock = await dial(ECHO_PORT)
    const ours = () => stack.connections().find(c => c.remotePort === sock.localPort)!
    sock.write('hello')
    await new Promise(r => sock.once('data', r))
    // Before full-sized data: Linux's first guess, at most 536 (tcp_initialize_rcv_mss).
    expect(ours().rcvMss).toBe(536)
    const data = randomBytes(200_000)
    let echoed = 0
    sock.on('data', (c: Buffer) => { echoed += c.length })
    sock.write(data)
    await waitFor(() => echoed === data.length, 'the echo of 200 kB', 20_000)
    const info = ours() // still open: read before the close takes the connection away
    expect(info.rcvMss).toBe(1448) // the kernel's full segments: 1460 less the timestamps option
    expect(info.pmtu).toBe(1500)
    expect(info.segsIn).toBeGreaterThan(data.length / 1448)
    expect(info.segsOut).toBeGreaterThan(data.length / 1448)
    expect(info.minRttMs).toBeGreaterThanOrEqual(0)
    expect(info.minRttMs!).toBeLessThanOrEqual(info.rttMs!)
  })

  it("counts segments delivered as the kernel's ss -ti does (tp->delivered): the SYN or SYN,ACK, then one per data segment", async () => {
    const sock = await dial(ECHO_PORT)
    const segments = 200
    const data = randomBytes(segments * 1448)
    let echoed = 0
    sock.on('data', (c: Buffer) => { echoed += c.length })
    sock.write(data)
    await waitFor(() => echoed === data.length, 'the echo', 20_000)
    await waitFor(() => stack.connections().find(c => c.remotePort === sock.localPort)!.sendQueue === 0, 'our echo acknowledged')
    // The kernel sent the data: its SYN, then 200 full segments, each delivered once.
    const line = await ss(`dst ${ADDR}:${ECHO_PORT} sport = :${sock.localPort}`)
    const kernelDelivered = Number(/\bdelivered:(\d+)/.exec(line)?.[1])
    expect(kernelDelivered).toBe(1 + segments)
    // We echoed it in segments of our own making: the SYN,ACK, then each one once, none lost here.
    const ours = stack.connections().find(c => c.remotePort === sock.localPort)!
    expect(ours.totalRetransmits).toBe(0)
    expect(ours.delivered).toBeGreaterThanOrEqual(1 + segments)
    expect(ours.delivered).toBeLessThanOrEqual(ours.segsOut)
  })

  it('active open (our connect -> kernel listener): wscale, ts and sack all on', async () => {
    await kernelEcho(KERNEL_PORT)
    const sock = await stackDial(KERNEL_PORT)
    sock.write('hello')
    await new Promise(r => sock.once('data', r))
    const view = kernelView(await ss(`src ${KERNEL}:${KERNEL_PORT} dst ${ADDR}:${sock.localPort}`))
    expect(view.wscale).toMatch(/^6,\d+$/)
    expect(view.mss).toBe(1448)
    expect(kernelUsesTimestamps(KERNEL_PORT, sock.localPort)).toBe(true)
    const ours = stack.connections().find(c => c.localPort === sock.localPort)!
    expect(ours.options).toEqual({ wscale: { snd: Number(view.wscale!.split(',')[1]), rcv: 6 }, timestamps: true, sack: true, ecn: false })
  })

  it('the kernel SACKs a hole we make (one outgoing data packet lost), and the data arrives intact', async () => {
    await kernelEcho(KERNEL_PORT + 2)
    const sock = await stackDial(KERNEL_PORT + 2)
    const data = randomBytes(4 * 1024 * 1024)
    // Lose the third data packet we send: the kernel holds what follows it out of order and SACKs it.
    skipDataPackets = 2
    dropDataPackets = 1
    const got = await roundTrip(sock, data)
    expect(sha(got)).toBe(sha(data))
    const sacks = fromKernel.filter(s => s.srcPort === KERNEL_PORT + 2 && s.options.sackBlocks !== undefined)
    expect(sacks.length).toBeGreaterThan(0)
  })
})

describe('large transfers with the options on, SHA-256 intact', () => {
  it(`kernel client -> our echo: ${BIG >> 20} MiB each way`, async () => {
    const data = randomBytes(BIG)
    const sock = await dial(ECHO_PORT)
    const started = Date.now()
    const back = await roundTrip(sock, data)
    const ms = Date.now() - started
    expect(back.length).toBe(data.length)
    expect(sha(back)).toBe(sha(data))
    console.log(`passive echo: ${BIG >> 20} MiB each way in ${ms} ms (${((2 * BIG * 8) / ms / 1000).toFixed(0)} Mbit/s both directions)`)
  })

  it(`our client -> kernel echo: ${BIG >> 20} MiB each way`, async () => {
    await kernelEcho(KERNEL_PORT + 1)
    const data = randomBytes(BIG)
    const sock = await stackDial(KERNEL_PORT + 1)
    const started = Date.now()
    const back = await roundTrip(sock, data)
    const ms = Date.now() - started
    expect(back.length).toBe(data.length)
    expect(sha(back)).toBe(sha(data))
    console.log(`active echo: ${BIG >> 20} MiB each way in ${ms} ms (${((2 * BIG * 8) / ms / 1000).toFixed(0)} Mbit/s both directions)`)
  })
})
