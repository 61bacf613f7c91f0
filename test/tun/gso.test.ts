// Software segmentation: one large TCP packet becomes MSS-sized packets exactly as
// the kernel cuts a TSO packet (sequence numbers, lengths, checksums, FIN and PSH last).
import { describe, expect, it } from 'vitest'
import { parseIPv4 } from '../../src/stack/wire/ipv4'
import { parseIPv6 } from '../../src/stack/wire/ipv6'
import { ACK, CWR, FIN, PSH, buildTcpPacket, parseTcp } from '../../src/stack/wire/tcp'
import { segmentTcp } from '../../src/tun/gso'

const SRC = 0x0a000001
const DST = 0x0a000002

function large(payloadLength: number, partialChecksum: boolean, flags = ACK | PSH | FIN) {
  const payload = new Uint8Array(payloadLength)
  for (let i = 0; i < payloadLength; i++) payload[i] = i & 0xff
  return buildTcpPacket({
    src: SRC, dst: DST, srcPort: 80, dstPort: 40000, seq: 0xfffff000, ack: 7,
    flags, window: 1000, payload, partialChecksum, id: 100,
  })
}

describe('segmentTcp', () => {
  it('cuts a packet with a partial checksum into valid MSS-sized segments', () => {
    const pieces = segmentTcp(large(1460 * 3 + 100, true), 1460)
    expect(pieces.map(p => p.length)).toEqual([1500, 1500, 1500, 140])
    const segments = pieces.map(p => {
      const ip = parseIPv4(p)
      if (!ip.ok) throw new Error(ip.reason)
      const tcp = parseTcp(ip.value.payload, SRC, DST)
      if (!tcp.ok) throw new Error(tcp.reason)
      return { id: ip.value.header.id, ...tcp.value }
    })
    // Sequence numbers follow the payload, wrapping modulo 2^32.
    expect(segments.map(s => s.seq)).toEqual([0xfffff000, 0xfffff5b4, 0xfffffb68, 0x0000011c])
    expect(segments.map(s => s.id)).toEqual([100, 101, 102, 103])
    // FIN and PSH only on the last piece; ACK on all.
    expect(segments.map(s => s.flags)).toEqual([ACK, ACK, ACK, ACK | PSH | FIN])
    const joined = new Uint8Array(segments.reduce((n, s) => n + s.payload.length, 0))
    let at = 0
    for (const s of segments) { joined.set(s.payload, at); at += s.payload.length }
    expect(joined.every((b, i) => b === (i & 0xff))).toBe(true)
  })

  it('cuts an IPv6 packet the same way: payload lengths, checksums over the IPv6 pseudo header (VIRTIO_NET_HDR_GSO_TCPV6)', () => {
    const payload = new Uint8Array(1440 * 2 + 10).map((_, i) => i & 0xff)
    const packet = buildTcpPacket({ src: 'fd77::2', dst: 'fd77::1', srcPort: 80, dstPort: 40000, seq: 1000, ack: 7, flags: ACK | PSH, window: 1000, payload, partialChecksum: true })
    const pieces = segmentTcp(packet, 1440)
    expect(pieces.map(p => p.length)).toEqual([1500, 1500, 70])
    const segments = pieces.map(p => {
      const ip = parseIPv6(p)
      if (!ip.ok) throw new Error(ip.reason)
      const tcp = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
      if (!tcp.ok) throw new Error(tcp.reason)
      return tcp.value
    })
    expect(segments.map(s => [s.seq, s.flags, s.payload.length])).toEqual([[1000, ACK, 1440], [2440, ACK, 1440], [3880, ACK | PSH, 10]])
  })

  it('keeps CWR on the first piece only, as the kernel does for an ECN GSO packet (RFC 3168 6.1.2)', () => {
    const flags = segmentTcp(large(1460 * 3, true, ACK | CWR | PSH), 1460).map(p => {
      const ip = parseIPv4(p)
      if (!ip.ok) throw new Error(ip.reason)
      return ip.value.payload[13]!
    })
    expect(flags).toEqual([ACK | CWR, ACK, ACK | PSH])
  })

  it('leaves a packet that already fits whole', () => {
    const packet = large(1000, false)
    expect(segmentTcp(packet, 1460)).toEqual([packet])
  })
})
