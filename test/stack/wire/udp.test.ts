// UDP (RFC 768): the header, its length field and the checksum over the IPv4 pseudo
// header; a zero checksum means none, a computed zero goes out as 0xffff.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { pseudoHeaderSum } from '../../../src/stack/wire/checksum'
import { parseIPv4 } from '../../../src/stack/wire/ipv4'
import { IPPROTO_UDP, UDP_HEADER_LENGTH, UDP_MAX_PAYLOAD, buildUdpPacket, parseUdp } from '../../../src/stack/wire/udp'
import { KERNEL, STACK, referenceSum, toHex, u16, u32 } from './helpers'

/** The UDP part of a built packet. */
const udpOf = (p: Uint8Array) => p.subarray(20)

describe('UDP (RFC 768)', () => {
  it('builds the header of RFC 768: ports, length (header included), checksum', () => {
    const p = buildUdpPacket({ src: KERNEL, dst: STACK, srcPort: 40000, dstPort: 53, payload: new TextEncoder().encode('hi') })
    expect(p.length).toBe(20 + 8 + 2)
    expect(p[9]).toBe(IPPROTO_UDP)
    expect(toHex(udpOf(p).subarray(0, 6))).toBe('9c400035000a')
    // The checksum verifies against an independent sum over pseudo header, header and data.
    expect(referenceSum(udpOf(p), pseudoHeaderSum(KERNEL, STACK, IPPROTO_UDP, 10))).toBe(0xffff)
  })

  it('sends a computed checksum of zero as 0xffff, and accepts it (RFC 768)', () => {
    // Find data whose checksum comes out as 0: choose the last word to make the sum 0xffff.
    const payload = new Uint8Array(2)
    const probe = buildUdpPacket({ src: KERNEL, dst: STACK, srcPort: 1, dstPort: 2, payload, noChecksum: true })
    const sum = referenceSum(udpOf(probe), pseudoHeaderSum(KERNEL, STACK, IPPROTO_UDP, 10))
    const word = 0xffff - sum
    payload[0] = word >>> 8
    payload[1] = word & 0xff
    const p = buildUdpPacket({ src: KERNEL, dst: STACK, srcPort: 1, dstPort: 2, payload })
    expect(toHex(udpOf(p).subarray(6, 8))).toBe('ffff')
    expect(parseUdp(udpOf(p), KERNEL, STACK).ok).toBe(true)
  })

  it('takes a checksum of zero as "none": not verified', () => {
    const p = buildUdpPacket({ src: KERNEL, dst: STACK, srcPort: 1, dstPort: 2, payload: new Uint8Array([1, 2, 3]), noChecksum: true })
    expect(toHex(udpOf(p).subarray(6, 8))).toBe('0000')
    const r = parseUdp(udpOf(p), KERNEL, STACK + 1) // wrong pseudo header, but no checksum to check
    expect(r).toMatchObject({ ok: true, value: { checksum: 0, srcPort: 1, dstPort: 2 } })
  })

  it('drops udp-checksum: a wrong pseudo header or a flipped data bit', () => {
    const p = buildUdpPacket({ src: KERNEL, dst: STACK, srcPort: 1, dstPort: 2, payload: new Uint8Array([9]) })
    expect(parseUdp(udpOf(p), KERNEL, STACK + 1)).toEqual({ ok: false, reason: 'udp-checksum' })
    const q = udpOf(p).slice()
    q[8]! ^= 1
    expect(parseUdp(q, KERNEL, STACK)).toEqual({ ok: false, reason: 'udp-checksum' })
    expect(parseUdp(q, KERNEL, STACK, false).ok).toBe(true) // the link vouched for it (offload)
  })

  it('drops udp-truncated: under 8 bytes, or fewer bytes than the length field claims', () => {
    expect(parseUdp(new Uint8Array(7), KERNEL, STACK)).toEqual({ ok: false, reason: 'udp-truncated' })
    const p = udpOf(buildUdpPacket({ src: KERNEL, dst: STACK, srcPort: 1, dstPort: 2, payload: new Uint8Array(10) }))
    expect(parseUdp(p.subarray(0, 17), KERNEL, STACK)).toEqual({ ok: false, reason: 'udp-truncated' })
  })

  it('drops udp-length: a length field below the header\'s 8 bytes', () => {
    for (const length of [0, 1, 7]) {
      const d = new Uint8Array(8)
      d[5] = length
      expect(parseUdp(d, KERNEL, STACK)).toEqual({ ok: false, reason: 'udp-length' })
    }
  })

  it('reads only as far as the length field: bytes beyond it are not data (Linux trims them)', () => {
    const p = udpOf(buildUdpPacket({ src: KERNEL, dst: STACK, srcPort: 1, dstPort: 2, payload: new Uint8Array([7, 7]) }))
    const padded = new Uint8Array(p.length + 5)
    padded.set(p)
    const r = parseUdp(padded, KERNEL, STACK)
    expect(r.ok && toHex(r.value.payload)).toBe('0707')
  })

  it('refuses to build more data than an IPv4 datagram holds', () => {
    expect(UDP_MAX_PAYLOAD).toBe(65507)
    expect(() => buildUdpPacket({ src: 1, dst: 2, srcPort: 1, dstPort: 2, payload: new Uint8Array(UDP_MAX_PAYLOAD + 1) })).toThrow(RangeError)
    expect(buildUdpPacket({ src: 1, dst: 2, srcPort: 1, dstPort: 2, payload: new Uint8Array(UDP_MAX_PAYLOAD) }).length).toBe(65535)
  })

  it('round-trips any datagram through build and parse, IPv4 header included (property)', () => {
    fc.assert(fc.property(u32, u32, u16, u16, fc.uint8Array({ maxLength: 1500 }), fc.boolean(), (src, dst, srcPort, dstPort, payload, noChecksum) => {
      const p = buildUdpPacket({ src, dst, srcPort, dstPort, payload, noChecksum })
      const ip = parseIPv4(p)
      if (!ip.ok) throw new Error(ip.reason)
      expect(ip.value.header).toMatchObject({ src, dst, protocol: IPPROTO_UDP, dontFragment: true })
      const r = parseUdp(ip.value.payload, src, dst)
      if (!r.ok) throw new Error(r.reason)
      expect(r.value.srcPort).toBe(srcPort)
      expect(r.value.dstPort).toBe(dstPort)
      expect(r.value.payload).toEqual(payload)
      expect(r.value.checksum === 0).toBe(noChecksum)
    }))
  })

  it('never throws and never reads past the length field, whatever the bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), u32, u32, fc.boolean(), (bytes, src, dst, verify) => {
      const r = parseUdp(bytes, src, dst, verify)
      if (r.ok) {
        expect(UDP_HEADER_LENGTH + r.value.payload.length).toBe((bytes[4]! << 8) | bytes[5]!)
        expect(UDP_HEADER_LENGTH + r.value.payload.length).toBeLessThanOrEqual(bytes.length)
      }
    }), { numRuns: 2000 })
  })

  it('detects any single bit flipped in a checksummed datagram, and any cut (property)', () => {
    const datagram = fc.tuple(u32, u32, u16, u16, fc.uint8Array({ minLength: 1, maxLength: 200 }))
      .map(([src, dst, srcPort, dstPort, payload]) => ({ src, dst, bytes: udpOf(buildUdpPacket({ src, dst, srcPort, dstPort, payload })) }))
    fc.assert(fc.property(datagram, fc.nat(), ({ src, dst, bytes }, n) => {
      expect(parseUdp(bytes.subarray(0, n % bytes.length), src, dst).ok).toBe(false)
      const bit = n % (bytes.length * 8)
      // A flip that zeroes the checksum field turns it into "no checksum", which RFC 768 allows.
      const flipped = bytes.slice()
      flipped[bit >> 3]! ^= 0x80 >> (bit & 7)
      if (flipped[6] === 0 && flipped[7] === 0) return
      // A flipped length bit that makes the datagram shorter, still >= 8, is caught by the checksum too.
      expect(parseUdp(flipped, src, dst).ok).toBe(false)
    }))
  })
})
