// A stack on a MemoryLink that delivers packets in batches (as a TUN device does), with one
// connection to port 80 opened by hand: the test plays the peer, in raw segments, and reads
// what the stack sent. For ACK coalescing and output coalescing (tcp-layer.ts).

import { expect } from 'vitest'
import { settle } from './virtual-time'
import { Stack } from '../../src/stack/stack'
import { SeededRandom } from '../../src/stack/random'
import { VirtualClock } from '../../src/stack/time/virtual-clock'
import { MemoryLink } from '../../src/tun/memory-link'
import { parseIPv4 } from '../../src/stack/wire/ipv4'
import { ACK, SYN, buildTcpPacket, parseTcp, type TcpOptions } from '../../src/stack/wire/tcp'
import type { Socket } from '../../src/stack/socket/socket'
import type { TcpConfig } from '../../src/stack/tcp/config'

const PEER_ADDR = 0x0a000001 // 10.0.0.1
const LOCAL_ADDR = 0x0a000002 // 10.0.0.2

/** The stack at 10.0.0.2 serving port 80 (`onSocket` sees the accepted socket), after a handshake from 10.0.0.1:40000 with IRS 100 and `synOptions` in its SYN. */
export async function batchedPeer(tcp: Partial<TcpConfig> = {}, onSocket: (s: Socket) => void = () => {}, synOptions: TcpOptions = { mss: 1460 }) {
  const link = new MemoryLink({ batches: true })
  const clock = new VirtualClock(1_000)
  const stack = new Stack({ address: '10.0.0.2', link, clock, random: new SeededRandom(7), tcp: { timestamps: false, ...tcp } })
  let socket: Socket | undefined
  stack.createServer(s => { socket = s; onSocket(s) }).listen(80)
  const segment = (flags: number, seq: number, ack: number, payload?: Uint8Array) => buildTcpPacket({
    src: PEER_ADDR, dst: LOCAL_ADDR, srcPort: 40000, dstPort: 80, seq, ack, flags, window: 65535, payload, options: flags & SYN ? synOptions : undefined,
  })
  const sent = () => link.take().map(p => {
    const ip = parseIPv4(p)
    if (!ip.ok) throw new Error(ip.reason)
    const seg = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
    if (!seg.ok) throw new Error(seg.reason)
    return seg.value
  })
  link.inject(segment(SYN, 100, 0))
  await settle()
  const iss = sent()[0]!.seq
  link.inject(segment(ACK, 101, iss + 1))
  await settle()
  expect(socket).toBeDefined()
  return { link, stack, socket: socket!, segment, sent, iss }
}
