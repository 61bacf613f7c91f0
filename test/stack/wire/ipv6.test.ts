import { isIPv6 } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { onesComplementSum } from '../../../src/stack/wire/checksum'
import { IPPROTO_TCP } from '../../../src/stack/wire/ipv4'
import {
  IPPROTO_ICMPV6, IPV6_HEADER_LENGTH, NEXT_NONE, formatAddressV6, parseAddressV6, parseIPv6, pseudoHeaderSumV6, writeIPv6Header,
} from '../../../src/stack/wire/ipv6'
import { CAPTURED_V6, referenceSum, toHex } from './helpers'

const A = parseAddressV6('fd77::1')!
const B = parseAddressV6('fd77::2')!

/** An IPv6 packet from A to B: the given extension headers (their bytes) then an upper-layer message. */
function packet(next: number, extensions: number[], upper: Uint8Array = new Uint8Array(8)): Uint8Array {
  const p = new Uint8Array(IPV6_HEADER_LENGTH + extensions.length + upper.length)
  writeIPv6Header(p, 0, { src: A, dst: B, protocol: next, payloadLength: extensions.length + upper.length })
  p.set(extensions, IPV6_HEADER_LENGTH)
  p.set(upper, IPV6_HEADER_LENGTH + extensions.length)
  return p
}

const reason = (p: Uint8Array) => { const r = parseIPv6(p); return r.ok ? 'ok' : r.reason }

describe('IPv6 header (RFC 8200 3)', () => {
  it('decodes a SYN captured from the kernel: fields, addresses, the TCP bytes as a view', () => {
    const r = parseIPv6(CAPTURED_V6.linuxSyn)
    if (!r.ok) throw new Error(r.reason)
    expect(r.value.header).toMatchObject({ trafficClass: 0, flowLabel: 0x142b4, payloadLength: 40, hopLimit: 64, protocol: IPPROTO_TCP, extensionLength: 0, protocolOffset: 6 })
    expect(formatAddressV6(r.value.header.src)).toBe('fd77::1')
    expect(formatAddressV6(r.value.header.dst)).toBe('fd77::2')
    expect(r.value.payload.length).toBe(40)
    expect(r.value.payload.buffer).toBe(CAPTURED_V6.linuxSyn.buffer)
  })

  it('the pseudo header of RFC 8200 8.1 verifies the kernel\'s TCP and ICMPv6 checksums', () => {
    for (const [bytes, protocol] of [[CAPTURED_V6.linuxSyn, IPPROTO_TCP], [CAPTURED_V6.linuxPing, IPPROTO_ICMPV6]] as const) {
      const r = parseIPv6(bytes)
      if (!r.ok) throw new Error(r.reason)
      const { src, dst } = r.value.header
      expect(onesComplementSum(r.value.payload, 0, r.value.payload.length, pseudoHeaderSumV6(src, dst, protocol, r.value.payload.length))).toBe(0xffff)
      expect(onesComplementSum(r.value.payload, 0, r.value.payload.length, pseudoHeaderSumV6(dst, src, protocol + 1, r.value.payload.length))).not.toBe(0xffff)
    }
  })

  it('pseudoHeaderSumV6 equals the sum over the 40-byte pseudo header written out (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffffff }), (src, dst, protocol, length) => {
        const pseudo = new Uint8Array(40)
        pseudo.set(src, 0)
        pseudo.set(dst, 16)
        new DataView(pseudo.buffer).setUint32(32, length)
        pseudo[39] = protocol
        const expected = referenceSum(pseudo)
        const got = pseudoHeaderSumV6(src, dst, protocol, length)
        expect(got === expected || (got === 0xffff && expected === 0) || (got === 0 && expected === 0xffff)).toBe(true)
      }))
  })

  it('copies the addresses out of a Buffer too (whose slice() would be a view into a read buffer reused)', () => {
    const bytes = Buffer.from(CAPTURED_V6.linuxSyn)
    const r = parseIPv6(bytes)
    if (!r.ok) throw new Error(r.reason)
    bytes.fill(0)
    expect(formatAddressV6(r.value.header.src)).toBe('fd77::1')
    expect(Buffer.isBuffer(r.value.header.src)).toBe(false)
  })

  it('round-trips traffic class, flow label and hop limit through writeIPv6Header', () => {
    const p = new Uint8Array(48)
    writeIPv6Header(p, 0, { src: A, dst: B, protocol: IPPROTO_ICMPV6, payloadLength: 8, hopLimit: 255, trafficClass: 0xb9, flowLabel: 0xfedcb })
    expect(toHex(p.subarray(0, 8))).toBe('6b9fedcb00083aff')
    const r = parseIPv6(p)
    expect(r.ok && r.value.header).toMatchObject({ trafficClass: 0xb9, flowLabel: 0xfedcb, hopLimit: 255, payloadLength: 8 })
  })

  it('throws RangeError on a programming error, never on input', () => {
    expect(() => writeIPv6Header(new Uint8Array(40), 0, { src: A, dst: B, protocol: 6, payloadLength: 70_000 })).toThrow(RangeError)
    expect(() => writeIPv6Header(new Uint8Array(39), 0, { src: A, dst: B, protocol: 6, payloadLength: 0 })).toThrow(RangeError)
    expect(() => writeIPv6Header(new Uint8Array(40), 0, { src: A.subarray(4), dst: B, protocol: 6, payloadLength: 0 })).toThrow(RangeError)
  })

  it('drops what is too short, not version 6, or shorter than its payload length; ignores bytes beyond it', () => {
    expect(reason(new Uint8Array(0))).toBe('ipv6-truncated')
    expect(reason(CAPTURED_V6.linuxSyn.subarray(0, 39))).toBe('ipv6-truncated')
    expect(reason(CAPTURED_V6.linuxSyn.subarray(0, 79))).toBe('ipv6-truncated')
    const four = CAPTURED_V6.linuxSyn.slice()
    four[0] = 0x45
    expect(reason(four)).toBe('ipv6-version')
    const padded = Uint8Array.from([...CAPTURED_V6.linuxSyn, 0, 0, 0, 0])
    const r = parseIPv6(padded)
    expect(r.ok && r.value.payload.length).toBe(40)
  })
})

describe('IPv6 extension headers (RFC 8200 4)', () => {
  const ROUTER_ALERT = [IPPROTO_ICMPV6, 0, 5, 2, 0, 0, 1, 0] // hop-by-hop: router alert (MLD), PadN

  it('walks a hop-by-hop header to ICMPv6, as in the kernel\'s MLD reports', () => {
    const r = parseIPv6(packet(0, ROUTER_ALERT))
    expect(r.ok && r.value.header).toMatchObject({ protocol: IPPROTO_ICMPV6, extensionLength: 8 })
    expect(r.ok && r.value.payload.length).toBe(8)
  })

  it('walks destination options, a routing header with no segments left, and an atomic fragment (RFC 6946)', () => {
    const chain = [
      43, 0, 0, 0, 0, 0, 0, 0, // destination options: Pad1 x6, next routing
      60, 0, 4, 0, 0, 0, 0, 0, // routing type 4, segments left 0: next destination options
      44, 0, 1, 4, 0, 0, 0, 0, // destination options: PadN of 4, next fragment
      6, 0, 0, 0, 0, 0, 0, 9, // fragment: offset 0, M clear: atomic
    ]
    const r = parseIPv6(packet(60, chain, new Uint8Array(20)))
    expect(r.ok && r.value.header).toMatchObject({ protocol: IPPROTO_TCP, extensionLength: 32, protocolOffset: 64 })
  })

  it('drops a real fragment, first or later (no reassembly)', () => {
    expect(reason(packet(44, [6, 0, 0, 1, 0, 0, 0, 9]))).toBe('ipv6-fragment') // M set
    expect(reason(packet(44, [6, 0, 0, 8, 0, 0, 0, 9]))).toBe('ipv6-fragment') // offset 1
  })

  it('drops a routing header with segments left: a host does not forward (4.4)', () => {
    expect(reason(packet(43, [6, 2, 0, 1, 0, 0, 0, 0, ...new Array(16).fill(0)]))).toBe('ipv6-routing')
  })

  it('skips an unknown option with action 00, drops one with 01, 10 or 11 (4.2)', () => {
    const withOption = (type: number) => packet(60, [6, 0, type, 1, 0, 1, 1, 0])
    expect(reason(withOption(0x1e))).toBe('ok')
    expect(reason(withOption(0x5e))).toBe('ipv6-option')
    expect(reason(withOption(0x9e))).toBe('ipv6-option')
    expect(reason(withOption(0xde))).toBe('ipv6-option')
    expect(reason(packet(60, [6, 0, 1, 9, 0, 0, 0, 0]))).toBe('ipv6-option') // PadN past the header
  })

  it('drops a hop-by-hop header that is not first, a header past the end, and a chain over 8', () => {
    expect(reason(packet(60, [0, 0, 1, 4, 0, 0, 0, 0, ...ROUTER_ALERT]))).toBe('ipv6-extension')
    expect(reason(packet(60, [6, 3, 0, 0, 0, 0, 0, 0]))).toBe('ipv6-extension')
    const nine = Array.from({ length: 9 }, (_, i) => [i === 8 ? 6 : 60, 0, 1, 4, 0, 0, 0, 0]).flat()
    expect(reason(packet(60, nine))).toBe('ipv6-extension')
  })

  it('after No Next Header (4.7) there is no upper-layer message', () => {
    const r = parseIPv6(packet(NEXT_NONE, [], Uint8Array.of(1, 2, 3, 4)))
    expect(r.ok && r.value.header.protocol).toBe(NEXT_NONE)
    expect(r.ok && r.value.payload.length).toBe(0)
  })
})

describe('IPv6 addresses in text (RFC 4291 2.2, RFC 5952)', () => {
  it('formats as RFC 5952 4 recommends', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group stays
      ['2001:DB8::AAAA', '2001:db8::aaaa'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::ffff:c000:0201', '::ffff:192.0.2.1'],
    ]
    for (const [text, canonical] of cases) expect(formatAddressV6(parseAddressV6(text)!), text).toBe(canonical)
  })

  it('refuses what is not an address', () => {
    for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::', 'fe80::1%eth0', '[::1]', '::1.2.3', '::256.0.0.1', '::01.2.3.4', '10.77.0.2']) {
      expect(parseAddressV6(bad), bad).toBeNull()
    }
  })

  it('agrees with node:net on validity and with the WHATWG URL parser on the canonical form (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 8 }), (a, at, zeros) => {
      for (let i = at; i < Math.min(8, at + zeros); i++) a[2 * i] = a[2 * i + 1] = 0
      const text = formatAddressV6(a)
      expect(isIPv6(text)).toBe(true)
      expect(parseAddressV6(text)).toEqual(a)
      const mapped = a.subarray(0, 10).every(x => x === 0) && a[10] === 0xff && a[11] === 0xff
      if (!mapped) expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`)
    }))
  })
})
