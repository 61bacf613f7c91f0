// IPv4 input (RFC 791, RFC 1122 3.3) and ICMP echo (RFC 792) through a whole
// Stack: answers pings, and drops and counts anything it cannot use, never
// throwing, while a TCP connection goes on being served.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../../src/stack/socket/socket'
import { onesComplementSum } from '../../../src/stack/wire/checksum'
import { DROP_REASONS } from '../../../src/stack/wire/drop'
import {
  ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, buildIcmpPacket, parseIcmp,
} from '../../../src/stack/wire/icmp'
import { IPPROTO_TCP, IPV4_HEADER_LENGTH, parseIPv4, writeIPv4Header } from '../../../src/stack/wire/ipv4'
import { ACK, PSH, buildTcpPacket } from '../../../src/stack/wire/tcp'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'

const PEER_ADDR = 0x0a000001 // 10.0.0.1, the PacketPeer's address
const LOCAL_ADDR = 0x0a000002 // 10.0.0.2, the stack's

function echoRequest(opts: { id?: number; seq?: number; body?: Uint8Array; dst?: number; tos?: number } = {}): Uint8Array {
  return buildIcmpPacket({
    src: PEER_ADDR, dst: opts.dst ?? LOCAL_ADDR, type: ICMP_ECHO_REQUEST, code: 0,
    rest: ((opts.id ?? 0x1234) << 16) | (opts.seq ?? 1), body: opts.body, tos: opts.tos,
  })
}

/** Rewrite the IPv4 header checksum after editing header bytes. */
function fixIpChecksum(p: Uint8Array): Uint8Array {
  p[10] = 0
  p[11] = 0
  const ihl = (p[0]! & 0x0f) * 4
  const sum = ~onesComplementSum(p, 0, ihl) & 0xffff
  p[10] = sum >>> 8
  p[11] = sum & 0xff
  return p
}

/** A valid data segment from the peer on the established connection (relative seq 1, ack 1). */
function dataSegment(p: PacketPeer, data: string, seq = 1): Uint8Array {
  return buildTcpPacket({
    src: PEER_ADDR, dst: LOCAL_ADDR, srcPort: p.peerPort, dstPort: p.localPort,
    seq: (0x7000_0000 + seq) >>> 0, ack: (p.iss! + 1) >>> 0, flags: ACK | PSH, window: 65535,
    payload: new TextEncoder().encode(data),
  })
}

/** A fresh PacketPeer, and the internal errors its stack reports (every test expects none). */
function watchedPeer() {
  const p = new PacketPeer()
  const internal: unknown[] = []
  p.stack.on('internal-error', e => internal.push(e))
  return { p, internal }
}

/** A PacketPeer with an echo server on port 80 and one established connection. */
async function withConnection() {
  const { p, internal } = watchedPeer()
  let socket: Socket | undefined
  p.stack.createServer(s => { socket = s; s.pipe(s) }).listen(80)
  await settle()
  await p.handshake()
  expect(socket?.state).toBe('ESTABLISHED')
  return { p, internal }
}

/** The packets the stack sent, taken raw (ICMP is not for PacketPeer.take). */
function sentRaw(p: PacketPeer): Uint8Array[] {
  return p.link.sent.splice(0, p.link.sent.length)
}

describe('ICMP echo (RFC 792, RFC 1122 3.2.2.6)', () => {
  it('answers an echo request with a reply of the same id, sequence and data', async () => {
    const p = new PacketPeer()
    const body = new TextEncoder().encode('abcdefgh-0123456789')
    await p.sendRaw(echoRequest({ id: 0x0f73, seq: 42, body, tos: 0x10 | 0x03 }))
    const out = sentRaw(p)
    expect(out).toHaveLength(1)
    const ip = parseIPv4(out[0]!)
    expect(ip.ok).toBe(true)
    if (!ip.ok) return
    expect(ip.value.header.src).toBe(LOCAL_ADDR)
    expect(ip.value.header.dst).toBe(PEER_ADDR)
    expect(ip.value.header.tos).toBe(0x10) // DSCP kept, ECN bits cleared (RFC 3168 5)
    const icmp = parseIcmp(ip.value.payload) // verifies the ICMP checksum
    expect(icmp.ok).toBe(true)
    if (!icmp.ok) return
    expect(icmp.value.type).toBe(ICMP_ECHO_REPLY)
    expect(icmp.value.code).toBe(0)
    expect(icmp.value.rest >>> 16).toBe(0x0f73)
    expect(icmp.value.rest & 0xffff).toBe(42)
    expect(Buffer.from(icmp.value.body)).toEqual(Buffer.from(body))
    expect(p.stack.counters.pingsAnswered).toBe(1)
    expect(p.stack.counters.dropped).toBe(0)
  })

  it('answers any id, sequence and payload exactly', async () => {
    const p = new PacketPeer()
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 1400 }),
      async (id, seq, body) => {
        const before = p.stack.counters.pingsAnswered
        await p.sendRaw(echoRequest({ id, seq, body }))
        const [reply, ...rest] = sentRaw(p)
        expect(rest).toEqual([])
        const ip = parseIPv4(reply!)
        if (!ip.ok) throw new Error(ip.reason)
        const icmp = parseIcmp(ip.value.payload)
        if (!icmp.ok) throw new Error(icmp.reason)
        expect(icmp.value.type).toBe(ICMP_ECHO_REPLY)
        expect(icmp.value.rest >>> 0).toBe((((id << 16) | seq) >>> 0))
        expect(Buffer.from(icmp.value.body)).toEqual(Buffer.from(body))
        expect(p.stack.counters.pingsAnswered).toBe(before + 1)
      },
    ), { numRuns: 100 })
  })

  it('counts every answered ping', async () => {
    const p = new PacketPeer()
    for (let i = 0; i < 5; i++) await p.sendRaw(echoRequest({ seq: i }))
    expect(sentRaw(p)).toHaveLength(5)
    expect(p.stack.counters.pingsAnswered).toBe(5)
  })
})

describe('drops (RFC 791 3.1, RFC 1122 3.3)', () => {
  const request = () => echoRequest({ body: new Uint8Array(8) })

  const cases: { name: string; reason: string; packet: () => Uint8Array }[] = [
    { name: 'an empty packet', reason: 'ip-truncated', packet: () => new Uint8Array(0) },
    { name: 'a packet shorter than an IPv4 header', reason: 'ip-truncated', packet: () => request().subarray(0, 12) },
    {
      name: 'a packet shorter than its total length', reason: 'ip-truncated',
      packet: () => request().subarray(0, 30),
    },
    {
      name: 'a packet of version 5 (neither IPv4 nor IPv6)', reason: 'ip-version',
      packet: () => { const p = request(); p[0] = 0x55; return p },
    },
    {
      name: 'a header length below 20 bytes', reason: 'ip-header-length',
      packet: () => { const p = request(); p[0] = 0x44; return fixIpChecksum(p) },
    },
    {
      name: 'a total length below the header length', reason: 'ip-total-length',
      packet: () => { const p = request(); p[2] = 0; p[3] = 19; return fixIpChecksum(p) },
    },
    {
      name: 'malformed IP options', reason: 'ip-options',
      packet: () => {
        // IHL 6: one option word, kind 7 (record route) with a length past the header.
        const body = new Uint8Array(12)
        const p = new Uint8Array(24 + body.length)
        writeIPv4Header(p, 0, { src: PEER_ADDR, dst: LOCAL_ADDR, protocol: 1, payloadLength: 4 + body.length })
        p[0] = 0x46
        p[20] = 7
        p[21] = 39
        return fixIpChecksum(p)
      },
    },
    {
      name: 'a bad IP header checksum', reason: 'ip-checksum',
      packet: () => { const p = request(); p[10]! ^= 0xff; return p },
    },
    {
      name: 'a first fragment (MF set)', reason: 'ip-fragment',
      packet: () => { const p = request(); p[6] = 0x20; return fixIpChecksum(p) },
    },
    {
      name: 'a later fragment (offset not 0)', reason: 'ip-fragment',
      packet: () => { const p = request(); p[6] = 0x00; p[7] = 0x10; return fixIpChecksum(p) },
    },
    {
      name: 'a packet for another address', reason: 'ip-not-for-us',
      packet: () => echoRequest({ dst: 0x0a000003 }),
    },
    {
      name: 'a broadcast packet', reason: 'ip-not-for-us',
      packet: () => echoRequest({ dst: 0xffff_ffff }),
    },
    {
      name: 'SCTP (protocol 132)', reason: 'ip-protocol',
      packet: () => {
        const p = new Uint8Array(IPV4_HEADER_LENGTH + 12)
        writeIPv4Header(p, 0, { src: PEER_ADDR, dst: LOCAL_ADDR, protocol: 132, payloadLength: 12 })
        return p
      },
    },
    {
      name: 'a UDP datagram whose length field is below 8', reason: 'udp-length',
      packet: () => {
        const p = new Uint8Array(IPV4_HEADER_LENGTH + 8)
        writeIPv4Header(p, 0, { src: PEER_ADDR, dst: LOCAL_ADDR, protocol: 17, payloadLength: 8 })
        return p
      },
    },
    {
      name: 'a UDP datagram shorter than its header', reason: 'udp-truncated',
      packet: () => {
        const p = new Uint8Array(IPV4_HEADER_LENGTH + 5)
        writeIPv4Header(p, 0, { src: PEER_ADDR, dst: LOCAL_ADDR, protocol: 17, payloadLength: 5 })
        return p
      },
    },
    {
      name: 'IPv6-in-IPv4 (protocol 41)', reason: 'ip-protocol',
      packet: () => {
        const p = new Uint8Array(IPV4_HEADER_LENGTH + 40)
        writeIPv4Header(p, 0, { src: PEER_ADDR, dst: LOCAL_ADDR, protocol: 41, payloadLength: 40 })
        return p
      },
    },
    {
      name: 'an ICMP message shorter than 8 bytes', reason: 'icmp-truncated',
      packet: () => {
        const p = new Uint8Array(IPV4_HEADER_LENGTH + 4)
        writeIPv4Header(p, 0, { src: PEER_ADDR, dst: LOCAL_ADDR, protocol: 1, payloadLength: 4 })
        p[20] = ICMP_ECHO_REQUEST
        return p
      },
    },
    {
      name: 'a bad ICMP checksum', reason: 'icmp-checksum',
      packet: () => { const p = request(); p[22]! ^= 0x01; return p },
    },
    {
      name: 'an ICMP echo reply (we send no requests)', reason: 'icmp-unhandled-type',
      packet: () => buildIcmpPacket({ src: PEER_ADDR, dst: LOCAL_ADDR, type: ICMP_ECHO_REPLY, code: 0, rest: 1 }),
    },
    {
      name: 'an ICMP destination unreachable quoting no datagram', reason: 'icmp-quote',
      packet: () => buildIcmpPacket({ src: PEER_ADDR, dst: LOCAL_ADDR, type: ICMP_DEST_UNREACHABLE, code: 3, rest: 0 }),
    },
    {
      name: 'a TCP segment with a bad checksum', reason: 'tcp-checksum',
      packet: () => {
        const p = buildTcpPacket({ src: PEER_ADDR, dst: LOCAL_ADDR, srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: 0x02, window: 1000 })
        p[IPV4_HEADER_LENGTH + 16]! ^= 0x40
        return p
      },
    },
    {
      name: 'a TCP segment shorter than its header', reason: 'tcp-truncated',
      packet: () => {
        const p = new Uint8Array(IPV4_HEADER_LENGTH + 10)
        writeIPv4Header(p, 0, { src: PEER_ADDR, dst: LOCAL_ADDR, protocol: IPPROTO_TCP, payloadLength: 10 })
        return p
      },
    },
  ]

  it('names only reasons the wire layer or the IP layer documents', () => {
    const ipLayerReasons = ['ip-not-for-us', 'ip-protocol', 'icmp-unhandled-type']
    for (const c of cases) expect([...DROP_REASONS, ...ipLayerReasons]).toContain(c.reason)
  })

  it.each(cases)('drops $name as $reason, without answering or throwing', async ({ packet, reason }) => {
    const { p, internal } = watchedPeer()
    await p.sendRaw(packet())
    expect(p.stack.counters.drops).toEqual({ [reason]: 1 })
    expect(p.stack.counters.packetsIn).toBe(1)
    expect(p.stack.counters.segmentsIn).toBe(0)
    expect(p.stack.counters.pingsAnswered).toBe(0)
    expect(sentRaw(p)).toEqual([])
    expect(internal).toEqual([])
  })

  it('keeps serving an established connection after every kind of bad packet', async () => {
    const { p, internal } = await withConnection()
    for (const c of cases) await p.sendRaw(c.packet())
    expect(sentRaw(p)).toEqual([]) // none of them drew an answer
    const want: Record<string, number> = {}
    for (const c of cases) want[c.reason] = (want[c.reason] ?? 0) + 1
    expect(p.stack.counters.drops).toEqual(want)
    // The connection is untouched: data is echoed and acknowledged.
    await p.sendRaw(dataSegment(p, 'still here'))
    await p.run(50)
    const echoed = p.expect('P.', { seq: 1, ack: 11, len: 10 })
    expect(Buffer.from(echoed.payload).toString()).toBe('still here')
    // And a ping still gets its reply.
    await p.sendRaw(echoRequest({ seq: 9 }))
    expect(sentRaw(p)).toHaveLength(1)
    expect(p.stack.counters.pingsAnswered).toBe(1)
    expect(internal).toEqual([])
  })

  it('never throws or counts an internal error for corrupted packets, and still serves', async () => {
    const { p, internal } = await withConnection()
    const templates = [echoRequest({ body: new Uint8Array(16) }), dataSegment(p, 'template data')]
    await fc.assert(fc.asyncProperty(
      fc.nat(templates.length - 1),
      fc.array(fc.record({ at: fc.nat(200), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
      fc.nat(80),
      async (which, edits, cut) => {
        const packet = templates[which]!.slice()
        for (const e of edits) packet[e.at % packet.length] = e.value
        const bytes = cut === 0 ? packet : packet.subarray(0, Math.max(0, packet.length - cut))
        const before = p.stack.counters.packetsIn
        await p.sendRaw(bytes)
        expect(p.stack.counters.packetsIn).toBe(before + 1)
        expect(internal).toEqual([])
      },
    ), { numRuns: 300 })
    expect(p.stack.counters.drops['internal-error']).toBeUndefined()
    sentRaw(p) // replies some corrupted packets may have drawn (an unmodified ping, an ACK)
    expect(p.stack.connections().map(c => c.state)).toEqual(['ESTABLISHED'])
  })

  it('accepts a packet with well-formed IP options and trailing link padding', async () => {
    const p = new PacketPeer()
    const req = echoRequest({ seq: 3, body: new TextEncoder().encode('opts') })
    // Insert one option word (NOP, NOP, NOP, EOL) and 6 bytes of padding after the datagram.
    const withOpts = new Uint8Array(req.length + 4 + 6)
    withOpts.set(req.subarray(0, 20), 0)
    withOpts.set([1, 1, 1, 0], 20)
    withOpts.set(req.subarray(20), 24)
    withOpts[0] = 0x46
    const total = req.length + 4
    withOpts[2] = total >>> 8
    withOpts[3] = total & 0xff
    await p.sendRaw(fixIpChecksum(withOpts))
    expect(p.stack.counters.dropped).toBe(0)
    expect(p.stack.counters.pingsAnswered).toBe(1)
    const [reply] = sentRaw(p)
    const ip = parseIPv4(reply!)
    if (!ip.ok) throw new Error(ip.reason)
    const icmp = parseIcmp(ip.value.payload)
    if (!icmp.ok) throw new Error(icmp.reason)
    expect(Buffer.from(icmp.value.body).toString()).toBe('opts')
  })
})

describe("the kernel's own IPv6 on the link (RFC 4861 6.3.7, RFC 3810): counted by kind, not as IPv4 errors", () => {
  /** An IPv6 packet from a link-local address: the fixed header (RFC 8200 3), then `rest`, whose first header is `next`. */
  function ipv6(next: number, rest: number[]): Uint8Array {
    const p = new Uint8Array(40 + rest.length)
    p[0] = 0x60
    p[4] = rest.length >> 8
    p[5] = rest.length & 0xff
    p[6] = next
    p[7] = 255 // hop limit of neighbor discovery
    p.set([0xfe, 0x80], 8) // src fe80::...
    p.set([0xff, 0x02], 24) // dst ff02::...
    p.set(rest, 40)
    return p
  }
  const ICMPV6 = 58
  const routerSolicitation = () => ipv6(ICMPV6, [133, 0, 0, 0, 0, 0, 0, 0])
  // MLDv2 report: a hop-by-hop header with the router alert option (RFC 2711), then ICMPv6 type 143.
  const hopByHop = [ICMPV6, 0, 5, 2, 0, 0, 1, 0]
  const mldReport = () => ipv6(0, [...hopByHop, 143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0xff, 0x02, ...new Array(14).fill(0)])

  const cases: { name: string; kind: string; packet: () => Uint8Array }[] = [
    { name: 'a router solicitation', kind: 'ipv6-router-solicitation', packet: routerSolicitation },
    { name: 'an MLDv2 report after a hop-by-hop header', kind: 'ipv6-mld', packet: mldReport },
    { name: 'an MLDv1 report', kind: 'ipv6-mld', packet: () => ipv6(0, [...hopByHop, 131, 0, 0, 0, 0, 0, 0, 0]) },
    { name: 'a neighbor solicitation', kind: 'ipv6-neighbor-discovery', packet: () => ipv6(ICMPV6, [135, 0, 0, 0, 0, 0, 0, 0]) },
    { name: 'an ICMPv6 echo request', kind: 'ipv6-other', packet: () => ipv6(ICMPV6, [128, 0, 0, 0, 0, 0, 0, 0]) },
    { name: 'a TCP segment over IPv6', kind: 'ipv6-other', packet: () => ipv6(6, new Array(20).fill(0)) },
    { name: 'a bare version nibble', kind: 'ipv6-other', packet: () => Uint8Array.from([0x60]) },
    { name: 'a header cut short', kind: 'ipv6-other', packet: () => routerSolicitation().subarray(0, 39) },
    { name: 'a hop-by-hop header running past the end', kind: 'ipv6-other', packet: () => ipv6(0, [ICMPV6, 200]) },
    { name: 'no bytes after the extension headers', kind: 'ipv6-other', packet: () => ipv6(0, hopByHop) },
    { name: 'a long chain of destination options', kind: 'ipv6-other', packet: () => ipv6(60, new Array(20).fill([60, 0, 1, 4, 0, 0, 0, 0]).flat()) },
  ]

  it.each(cases)('ignores $name as $kind, without answering or throwing', async ({ packet, kind }) => {
    const { p, internal } = watchedPeer()
    await p.sendRaw(packet())
    expect(p.stack.counters.ignored).toEqual({ [kind]: 1 })
    expect(p.stack.counters.drops).toEqual({})
    expect(p.stack.counters.packetsIn).toBe(1)
    expect(sentRaw(p)).toEqual([])
    expect(internal).toEqual([])
  })

  it('shows them in the counters apart from the drops', async () => {
    const p = new PacketPeer()
    await p.sendRaw(routerSolicitation())
    await p.sendRaw(mldReport())
    await p.sendRaw(mldReport())
    expect(p.stack.counters.toJSON().ignored).toEqual({ 'ipv6-router-solicitation': 1, 'ipv6-mld': 2 })
    const text = p.stack.counters.format()
    expect(text).toContain('drops: none')
    expect(text).toMatch(/^ignored \(the link's own IPv6, by kind\): ipv6-mld 2, ipv6-router-solicitation 1$/m)
  })

  it('never throws for any bytes after a version nibble of 6, and keeps the connection', async () => {
    const { p, internal } = await withConnection()
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 120 }), fc.nat(15), async (bytes, low) => {
      const packet = Uint8Array.from([0x60 | low, ...bytes])
      const before = p.stack.counters.packetsIn
      await p.sendRaw(packet)
      expect(p.stack.counters.packetsIn).toBe(before + 1)
    }), { numRuns: 300 })
    expect(internal).toEqual([])
    expect(p.stack.counters.drops).toEqual({})
    expect(Object.values(p.stack.counters.ignored).reduce((a, b) => a + b, 0)).toBe(300)
    expect(sentRaw(p)).toEqual([])
    expect(p.stack.connections().map(c => c.state)).toEqual(['ESTABLISHED'])
  })
})
