// ECN (RFC 3168) against the kernel, with net.ipv4.tcp_ecn=1 in the test's namespace (put
// back afterwards): the setup on the SYNs both ways, ECT(0) in the IP header of both sides'
// data (which shows the kernel turned ECN on: this ss does not print "ecn"), and the echo both ways: CE marks we
// put on our own data make the kernel send ECE and the stack cut cwnd once and send CWR; CE
// marks put on the kernel's data (as a router would) make the stack echo ECE until the
// kernel's CWR. The stack is 10.71.0.2 on a TUN device, the kernel 10.71.0.1.

import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { createServer as netCreateServer, type Server as NetServer } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Socket } from '../../src/stack/socket/socket'
import { Stack } from '../../src/stack/stack'
import { TCPI_OPT } from '../../src/stack/tcp-info'
import { configureKernelSide } from '../../src/tun/iproute'
import type { Link } from '../../src/tun/link'
import { TunDevice } from '../../src/tun/tun-device'
import { checksum } from '../../src/stack/wire/checksum'
import { CWR, ECE, SYN, type TcpSegment } from '../../src/stack/wire/tcp'
import { closeLeftOpen, KernelSockets, readAll, sha, waitFor } from './helpers'
import { requireFreshNetns } from './netns'

const DEV = 'tkecn0'
const KERNEL = '10.71.0.1'
const ADDR = '10.71.0.2'
const ECHO_PORT = 5071
const KERNEL_PORT = 9171
const SYSCTL = '/proc/sys/net/ipv4/tcp_ecn'
const CE = 3
const ECT0 = 2

let device: TunDevice | undefined
let stack: Stack
let oldEcn: string | undefined
const internalErrors: unknown[] = []
const kernelSockets = new KernelSockets()
const kernelServers: NetServer[] = []
const stackSockets: Socket[] = []
/** Mark our outgoing data CE, or the kernel's incoming data CE, as a congested router would. */
let markOut = false
let markIn = false
/** The ECN field of data packets each way, and the ECN flags of segments each way. */
const ecnOut: number[] = []
const ecnIn: number[] = []
const flagsIn: number[] = []
const flagsOut: number[] = []

/** Rewrite the ECN field of an IPv4 packet and its header checksum. */
function setEcn(packet: Uint8Array, ecn: number): void {
  packet[1] = (packet[1]! & 0xfc) | ecn
  packet[10] = 0
  packet[11] = 0
  const headerLength = (packet[0]! & 0x0f) * 4
  const sum = checksum(packet, 0, headerLength)
  packet[10] = sum >>> 8
  packet[11] = sum & 0xff
}

const hasData = (packet: Uint8Array) => packet.length - (packet[0]! & 0x0f) * 4 - ((packet[32]! >> 4) * 4) > 0

/** The TUN device, recording the ECN field of data each way and marking it CE when asked. */
function markingLink(dev: TunDevice): Link {
  return {
    mtu: dev.mtu,
    tsoMaxPayload: dev.tsoMaxPayload,
    send(packet, segmentSize) {
      if (hasData(packet)) {
        ecnOut.push(packet[1]! & 3)
        if (markOut) setEcn(packet, CE)
      }
      dev.send(packet, segmentSize)
    },
    onReceive: handler => dev.onReceive(handler === null ? null : (packet, trusted) => {
      if (hasData(packet)) {
        ecnIn.push(packet[1]! & 3)
        if (markIn && (packet[1]! & 3) !== 0) setEcn(packet, CE)
      }
      handler(packet, trusted)
    }),
    onBatchEnd: handler => dev.onBatchEnd(handler),
    close: () => dev.close(),
  }
}

beforeAll(() => {
  requireFreshNetns()
  oldEcn = readFileSync(SYSCTL, 'utf8').trim()
  writeFileSync(SYSCTL, '1')
  device = TunDevice.open({ name: DEV, mtu: 1500 })
  configureKernelSide(DEV, `${KERNEL}/24`, 1500)
  stack = new Stack({ address: ADDR, link: markingLink(device), mslMs: 1000 })
  stack.on('internal-error', (e: unknown) => internalErrors.push(e))
  stack.on('segment', (dir: string, { seg }: { seg: TcpSegment }) => (dir === 'in' ? flagsIn : flagsOut).push(seg.flags))
  stack.createServer({ allowHalfOpen: true }, sock => {
    sock.on('error', () => {})
    sock.pipe(sock)
  }).listen(ECHO_PORT)
})

afterEach(async () => {
  markOut = false
  markIn = false
  for (const list of [ecnOut, ecnIn, flagsIn, flagsOut]) list.length = 0
  await closeLeftOpen(kernelSockets, stackSockets, kernelServers)
  expect(internalErrors).toEqual([])
})

afterAll(async () => {
  await stack?.shutdown(300)
  device?.close()
  if (oldEcn !== undefined) writeFileSync(SYSCTL, oldEcn)
})

/** The kernel's `ss -tinH` line for its end of a connection. */
function ss(filter: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-tinH', 'state', 'established', ...filter.split(' ')], (err, out) => (err ? reject(err) : resolve(out)))
  })
}

/** Send `data` on a kernel socket to the stack's echo service and read it all back. */
async function kernelEchoRoundTrip(data: Buffer): Promise<{ got: Buffer; ssLine: string }> {
  const sock = await kernelSockets.dial(ADDR, ECHO_PORT, true)
  const ssLine = await ss(`dport = :${ECHO_PORT}`)
  const reading = readAll(sock, 30_000)
  sock.end(data)
  return { got: (await reading).data, ssLine }
}

describe('ECN setup with the kernel (RFC 3168 6.1.1)', () => {
  it('a kernel client with tcp_ecn=1 asks, the stack (tcp_ecn=2 semantics) agrees, and both sides send ECT(0) data', async () => {
    const data = randomBytes(200_000)
    const { got, ssLine } = await kernelEchoRoundTrip(data)
    expect(sha(got)).toBe(sha(data))
    expect(ssLine).not.toBe('') // (this ss does not print "ecn" for this kernel; its ECT(0) data shows ECN is on)
    // The kernel's SYN asked with ECE and CWR; our SYN,ACK agreed with ECE alone.
    const syn = flagsIn.find(f => f & SYN)!
    expect(syn & (ECE | CWR)).toBe(ECE | CWR)
    const synAck = flagsOut.find(f => f & SYN)!
    expect(synAck & (ECE | CWR)).toBe(ECE)
    // ECT(0), never ECT(1) or CE (a retransmission may go Not-ECT, RFC 3168 6.1.5).
    expect(ecnIn).toContain(ECT0)
    expect(ecnIn.filter(e => e !== ECT0 && e !== 0)).toEqual([])
    expect(ecnOut.filter(e => e === ECT0).length).toBeGreaterThan(0)
  })

  it('the stack as client with ecn 1 asks a kernel listener, which agrees', async () => {
    const server = netCreateServer(s => { s.on('error', () => {}); s.pipe(s) })
    kernelServers.push(server)
    await new Promise<void>(r => server.listen(KERNEL_PORT, KERNEL, r))
    stack.tcpConfig.ecn = 1 // as sysctl -w net.ipv4.tcp_ecn=1 would, for new connections
    try {
      const sock = stack.connect({ host: KERNEL, port: KERNEL_PORT })
      stackSockets.push(sock)
      await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
      expect(sock.info().options & TCPI_OPT.ECN).toBe(TCPI_OPT.ECN)
      // The kernel agreed: its SYN,ACK carried ECE alone, and its echo of our data goes ECT(0).
      const synAck = flagsIn.find(f => f & SYN)!
      expect(synAck & (ECE | CWR)).toBe(ECE)
      sock.on('data', () => {})
      sock.write(Buffer.alloc(10_000, 1))
      await waitFor(() => ecnOut.includes(ECT0) && ecnIn.includes(ECT0), 'ECT(0) data both ways')
      expect(ecnIn.filter(e => e !== ECT0 && e !== 0)).toEqual([])
    } finally {
      stack.tcpConfig.ecn = 2
    }
  })
})

/** 2 MB through the stack's echo with CE marks one way; the echo each side sent (ECE) and answered (CWR), and the counter's growth. */
async function echoUnderMarks(counter: 'ecnReductions' | 'ecnCeReceived'): Promise<{ eceFrom: number[]; cwrFrom: number[]; counted: number }> {
  const before = stack.counters[counter]
  const data = randomBytes(2_000_000)
  const { got } = await kernelEchoRoundTrip(data)
  expect(sha(got)).toBe(sha(data))
  const notSyn = (list: number[], flag: number) => list.filter(f => f & flag && !(f & SYN))
  const marksOnOurData = markOut
  return {
    eceFrom: notSyn(marksOnOurData ? flagsIn : flagsOut, ECE),
    cwrFrom: notSyn(marksOnOurData ? flagsOut : flagsIn, CWR),
    counted: stack.counters[counter] - before,
  }
}

describe('the echo with the kernel (RFC 3168 6.1.2, 6.1.3)', () => {
  it('CE on our data: the kernel echoes ECE, the stack cuts cwnd and sends CWR, and the data still arrives whole', async () => {
    markOut = true
    const r = await echoUnderMarks('ecnReductions')
    expect(r.eceFrom.length).toBeGreaterThan(0) // the kernel's ECE
    expect(r.counted).toBeGreaterThan(0) // our cuts
    expect(r.cwrFrom.length).toBeGreaterThan(0) // our CWR
  })

  it('CE on the kernel\'s data: the stack echoes ECE until the kernel sends CWR', async () => {
    markIn = true
    const r = await echoUnderMarks('ecnCeReceived')
    expect(r.counted).toBeGreaterThan(0) // CE marks we saw
    expect(r.eceFrom.length).toBeGreaterThan(0) // our ECE
    expect(r.cwrFrom.length).toBeGreaterThan(0) // the kernel's CWR
  })
})
