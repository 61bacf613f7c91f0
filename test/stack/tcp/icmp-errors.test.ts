// ICMP errors about our segments, in packets: RFC 5927's sequence check,
// RFC 1191 fragmentation needed, RFC 1122 4.2.3.9 soft errors.
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import {
  ICMP_CODE_FRAG_NEEDED, ICMP_DEST_UNREACHABLE, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED, buildIcmpPacket,
} from '../../../src/stack/wire/icmp'
import { parseIPv4 } from '../../../src/stack/wire/ipv4'
import { parseTcp, type TcpSegment } from '../../../src/stack/wire/tcp'
import { PacketPeer } from '../../helpers/packet-peer'
import { runUntil, settle } from '../../helpers/virtual-time'

const ROUTER = 0x0a000063 // 10.0.0.99, a router on the path
const LOCAL_ADDR = 0x0a000002

/** An ICMP error from a router, quoting (the first 28 bytes of) `quoted`, one of the stack's packets. */
function icmpError(type: number, code: number, quoted: Uint8Array, rest = 0): Uint8Array {
  return buildIcmpPacket({ src: ROUTER, dst: LOCAL_ADDR, type, code, rest, body: quoted.subarray(0, 28) })
}

/** The next raw packet the stack sent. */
function takeRaw(p: PacketPeer): Uint8Array {
  const packet = p.link.sent.shift()
  expect(packet).toBeDefined()
  return packet!
}

function payloadLength(packet: Uint8Array): number {
  const ip = parseIPv4(packet)
  if (!ip.ok) throw new Error(ip.reason)
  const seg = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
  if (!seg.ok) throw new Error(seg.reason)
  return seg.value.payload.length
}

/** An established connection; the server socket has sent 3000 bytes in two segments, not yet acknowledged. */
async function sending() {
  const p = new PacketPeer()
  let socket: Socket | undefined
  const errors: string[] = []
  p.stack.createServer(s => {
    socket = s
    s.on('error', e => errors.push((e as NodeJS.ErrnoException).code ?? ''))
  }).listen(80)
  await settle()
  await p.handshake()
  socket!.write(new Uint8Array(3000))
  await settle()
  const first = takeRaw(p)
  const second = takeRaw(p)
  expect([payloadLength(first), payloadLength(second)]).toEqual([1460, 1460])
  // (the last 80 bytes may wait for an ACK, with Nagle; what matters is what is in flight)
  while (p.link.sent.length > 0) takeRaw(p)
  return { p, socket: socket!, errors, first, second }
}

describe('fragmentation needed (RFC 1191)', () => {
  it('lowers the MSS to fit the next-hop MTU and resends what is in flight at the new size', async () => {
    const { p, first } = await sending()
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, first, 1280))
    const resent: number[] = []
    while (p.link.sent.length > 0) resent.push(payloadLength(takeRaw(p)))
    expect(resent.length).toBeGreaterThanOrEqual(2)
    expect(Math.max(...resent)).toBe(1240) // 1280 - 20 (IP) - 20 (TCP)
    expect(resent.slice(0, 2)).toEqual([1240, 1240])
    expect(p.stack.counters.pmtuReductions).toBe(1)
  })

  it('with no MTU in the message (an old router), uses the RFC 1191 plateau below the quoted length', async () => {
    const { p, first } = await sending()
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, first, 0))
    expect(payloadLength(takeRaw(p))).toBe(1492 - 40) // 1500 -> plateau 1492
  })

  it('never goes below 552 bytes, however small the MTU claimed (RFC 5927 7)', async () => {
    const { p, first } = await sending()
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, first, 68))
    expect(payloadLength(takeRaw(p))).toBe(512)
  })

  it('with timestamps on, the floor of SND.MSS is 552 - 40 - 12 = 500 bytes', async () => {
    const p = new PacketPeer()
    let socket: Socket | undefined
    p.stack.createServer(s => { socket = s }).listen(80)
    await settle()
    await p.send('S', { seq: 0, options: { mss: 1460, timestamp: { value: 1, echo: 0 } } })
    const synAck = p.expect('S.', { seq: 0, ack: 1 })
    await p.send('.', { seq: 1, ack: 1, options: { timestamp: { value: 2, echo: synAck.options.timestamp!.value } } })
    socket!.write(new Uint8Array(3000))
    await settle()
    const first = takeRaw(p)
    while (p.link.sent.length > 0) takeRaw(p)
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, first, 68))
    expect(payloadLength(takeRaw(p))).toBe(500)
  })

  it('resends through loss recovery: paced by cwnd, stepping over SACKed data, with no congestion response', async () => {
    const p = new PacketPeer()
    let socket: Socket | undefined
    p.stack.createServer(s => { socket = s }).listen(80)
    await settle()
    await p.send('S', { seq: 0, options: { mss: 1460, windowScale: 7, sackPermitted: true } })
    p.expect('S.', { seq: 0, ack: 1 })
    await p.send('.', { seq: 1, ack: 1 })
    socket!.write(new Uint8Array(20 * 1460))
    await settle()
    const first = takeRaw(p)
    while (p.link.sent.length > 0) takeRaw(p) // IW: 10 segments in flight
    const at = (n: number) => (p.iss! + 1 + (n - 1) * 1460) >>> 0
    // Segments 3 to 5 arrived (SACKed); then a router says the path MTU is 1280.
    await p.send('.', { seq: 1, ack: 1, options: { sackBlocks: [{ left: at(3), right: at(6) }] } })
    while (p.link.sent.length > 0) takeRaw(p) // limited transmit's new segment (RFC 3042)
    const { cwnd, ssthresh } = socket!.congestion
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, first, 1280))
    const resent: TcpSegment[] = []
    for (let s = p.take(); s !== undefined; s = p.take()) resent.push(s)
    expect(resent.length).toBeGreaterThan(0)
    for (const s of resent) {
      expect(s.payload.length).toBeLessThanOrEqual(1240)
      // Nothing the peer SACKed goes again.
      const [l, r] = [s.seq, (s.seq + s.payload.length) >>> 0]
      expect(r <= at(3) || l >= at(6), `segment at ${l - p.iss!} overlaps the SACKed block`).toBe(true)
    }
    // Within cwnd from SND.UNA, and cwnd and ssthresh untouched: no congestion response.
    const last = resent[resent.length - 1]!
    expect((last.seq + last.payload.length - at(1)) >>> 0).toBeLessThanOrEqual(cwnd)
    expect(socket!.congestion).toMatchObject({ cwnd, ssthresh })
    expect(p.stack.counters.retransmitTimeouts).toBe(0)
  })

  it('ignores a larger MTU (the path MTU only shrinks here)', async () => {
    const { p, first } = await sending()
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, first, 9000))
    expect(p.link.sent).toEqual([])
    expect(p.stack.counters.drops['icmp-frag-needed-not-smaller']).toBe(1)
  })
})

describe('RFC 5927 4.1: the quoted sequence number must be in flight', () => {
  it('ignores (and counts) a frag-needed quoting a segment already acknowledged', async () => {
    const { p, first, second } = await sending()
    await p.send('.', { seq: 1, ack: 1 + 1460 }) // the first segment is acknowledged
    while (p.link.sent.length > 0) takeRaw(p)
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, first, 1280))
    expect(p.link.sent).toEqual([])
    expect(p.stack.counters.drops['icmp-seq-not-in-flight']).toBe(1)
    expect(p.stack.counters.pmtuReductions).toBe(0)
    // The second segment is still in flight: an ICMP quoting it is taken.
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, second, 1280))
    expect(p.stack.counters.pmtuReductions).toBe(1)
  })

  it('ignores a forged quote with a sequence number beyond SND.NXT', async () => {
    const { p, first } = await sending()
    const forged = first.slice()
    forged[24] = (forged[24]! + 0x10) & 0xff // seq += 2^28
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, 1, forged))
    expect(p.stack.counters.drops['icmp-seq-not-in-flight']).toBe(1)
    expect(p.stack.counters.icmpSoftErrors).toBe(0)
  })

  it('drops ICMP about a connection that does not exist, or a datagram not from us', async () => {
    const { p, first } = await sending()
    const otherPort = first.slice()
    otherPort[22] = 0x12 // another destination port
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, 1, otherPort))
    const notOurs = first.slice()
    notOurs[15] = 0x77 // another source address
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, 1, notOurs))
    expect(p.stack.counters.drops['icmp-no-connection']).toBe(1)
    expect(p.stack.counters.drops['icmp-error-not-ours']).toBe(1)
  })
})

describe('other errors (RFC 1122 4.2.3.9, RFC 5461)', () => {
  it('a host unreachable in ESTABLISHED is soft: the connection goes on', async () => {
    const { p, socket, first } = await sending()
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, 1, first))
    expect(socket.state).toBe('ESTABLISHED')
    expect(p.stack.counters.icmpSoftErrors).toBe(1)
    expect(p.link.sent).toEqual([])
  })

  it('... and is the socket error if the connection then times out, in place of ETIMEDOUT', async () => {
    const { p, socket, errors, first } = await sending()
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, 1, first))
    await runUntil(p.clock, () => socket.state === 'CLOSED', 3_600_000)
    await settle()
    expect(errors).toEqual(['EHOSTUNREACH'])
  })

  it('a soft error is forgotten once the peer acknowledges something: a later timeout is ETIMEDOUT', async () => {
    const { p, socket, errors, first } = await sending()
    await p.sendRaw(icmpError(ICMP_TIME_EXCEEDED, 0, first))
    await p.send('.', { seq: 1, ack: 1 + 1460 })
    await runUntil(p.clock, () => socket.state === 'CLOSED', 3_600_000)
    await settle()
    expect(errors).toEqual(['ETIMEDOUT'])
  })

  it('source quench is ignored (RFC 6633)', async () => {
    const { p, socket, first } = await sending()
    await p.sendRaw(icmpError(ICMP_SOURCE_QUENCH, 0, first))
    expect(p.stack.counters.drops['icmp-source-quench']).toBe(1)
    expect(socket.state).toBe('ESTABLISHED')
  })

  it('a port unreachable for our SYN fails connect() at once with ECONNREFUSED', async () => {
    const p = new PacketPeer()
    const sock = p.stack.connect({ host: '10.0.0.1', port: 9000 })
    const errors: string[] = []
    sock.on('error', e => errors.push((e as NodeJS.ErrnoException).code ?? ''))
    await settle()
    const syn = takeRaw(p)
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, 3, syn))
    await settle()
    expect(errors).toEqual(['ECONNREFUSED'])
    expect(sock.state).toBe('CLOSED')
    expect(p.stack.counters.icmpHardErrors).toBe(1)
  })

  it('a host unreachable for our SYN,ACK drops the half-open connection and frees its SYN queue slot', async () => {
    const p = new PacketPeer()
    p.stack.createServer(() => undefined).listen(80)
    await settle()
    await p.send('S', { seq: 0 })
    const synAck = takeRaw(p)
    expect(p.stack.connectionsByState()).toEqual({ 'SYN-RECEIVED': 1 })
    await p.sendRaw(icmpError(ICMP_DEST_UNREACHABLE, 1, synAck))
    expect(p.stack.connections()).toEqual([])
    expect(p.stack.counters.icmpHardErrors).toBe(1)
  })
})
