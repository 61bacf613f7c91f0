import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checksum } from '../../../src/stack/wire/checksum'
import {
  IPPROTO_TCP, formatAddress, parseAddress, parseIPv4, writeIPv4Header, type IPv4Packet,
} from '../../../src/stack/wire/ipv4'
import type { DropReason } from '../../../src/stack/wire/drop'
import { CAPTURED, KERNEL, STACK, fromHex, toHex, u16, u32 } from './helpers'

function expectDrop(bytes: Uint8Array, reason: DropReason): void {
  expect(parseIPv4(bytes)).toEqual({ ok: false, reason })
}

function parsedOk(bytes: Uint8Array): IPv4Packet {
  const r = parseIPv4(bytes)
  if (!r.ok) throw new Error(`dropped: ${r.reason}`)
  return r.value
}

/** Fix the header checksum after editing a header of `headerLength` bytes. */
function reseal(p: Uint8Array, headerLength = 20): Uint8Array {
  p[10] = 0
  p[11] = 0
  const c = checksum(p, 0, headerLength)
  p[10] = c >>> 8
  p[11] = c & 0xff
  return p
}

/** A minimal valid datagram: 20-byte header (protocol 253, experimental) and `payload`. */
function datagram(payload: Uint8Array, fields: Partial<{ id: number; dontFragment: boolean }> = {}): Uint8Array {
  const p = new Uint8Array(20 + payload.length)
  writeIPv4Header(p, 0, { src: KERNEL, dst: STACK, protocol: 253, payloadLength: payload.length, ...fields })
  p.set(payload, 20)
  return p
}

describe('parseIPv4 (RFC 791 3.1)', () => {
  it('decodes a SYN captured from Linux', () => {
    const { header, payload } = parsedOk(CAPTURED.linuxSyn)
    expect(header).toEqual({
      headerLength: 20, tos: 0, totalLength: 60, id: 0xe5ea, dontFragment: true, moreFragments: false,
      fragmentOffset: 0, ttl: 64, protocol: IPPROTO_TCP, src: KERNEL, dst: STACK,
    })
    expect(payload.length).toBe(40)
  })

  it('returns the payload as a view into the input, not a copy', () => {
    const { payload } = parsedOk(CAPTURED.linuxSyn)
    expect(payload.buffer).toBe(CAPTURED.linuxSyn.buffer)
    expect(payload.byteOffset).toBe(CAPTURED.linuxSyn.byteOffset + 20)
  })

  it('ignores bytes past the total length (link padding) and sizes the payload by it', () => {
    const padded = new Uint8Array(CAPTURED.linuxFin.length + 6)
    padded.set(CAPTURED.linuxFin)
    const { header, payload } = parsedOk(padded)
    expect(header.totalLength).toBe(CAPTURED.linuxFin.length)
    expect(payload.length).toBe(CAPTURED.linuxFin.length - 20)
  })

  it('reads addresses with the top bit set as unsigned', () => {
    const p = new Uint8Array(20)
    writeIPv4Header(p, 0, { src: 0xc0a80001, dst: 0xffffffff, protocol: 1, payloadLength: 0 })
    const { header } = parsedOk(p)
    expect(header.src).toBe(0xc0a80001)
    expect(header.dst).toBe(0xffffffff)
  })

  it('skips well-formed options: router alert and NOPs (RFC 791 3.1, RFC 2113)', () => {
    const p = new Uint8Array(32)
    p.set(CAPTURED.linuxSyn.subarray(0, 20))
    p[0] = 0x47 // IHL 7
    p[3] = 32 // total length
    p.set(fromHex('94040000 01010100'), 20) // router alert, NOP, NOP, NOP, EOL
    p.set(fromHex('deadbeef'), 28)
    const { header, payload } = parsedOk(reseal(p, 28))
    expect(header.headerLength).toBe(28)
    expect(toHex(payload)).toBe('deadbeef')
  })

  it('accepts DF clear and a non-zero id', () => {
    const { header } = parsedOk(datagram(new Uint8Array(3), { id: 0xbeef, dontFragment: false }))
    expect(header.dontFragment).toBe(false)
    expect(header.id).toBe(0xbeef)
  })

  describe('drops', () => {
    it('ip-truncated: nothing, or less than 20 bytes', () => {
      expectDrop(new Uint8Array(0), 'ip-truncated')
      expectDrop(CAPTURED.linuxSyn.subarray(0, 19), 'ip-truncated')
    })

    it('ip-truncated: fewer bytes than the IHL claims', () => {
      const p = datagram(new Uint8Array(0))
      p[0] = 0x46
      expectDrop(reseal(p), 'ip-truncated')
    })

    it('ip-truncated: fewer bytes than the total length claims', () => {
      expectDrop(CAPTURED.linuxSyn.subarray(0, 59), 'ip-truncated')
    })

    it('ip-version: an IPv6 packet, or any version but 4', () => {
      expectDrop(fromHex('6000000000140640' + '00'.repeat(32)), 'ip-version')
      expectDrop(fromHex('50'), 'ip-version')
    })

    it('ip-header-length: IHL below 5', () => {
      const p = datagram(new Uint8Array(8))
      p[0] = 0x44
      expectDrop(reseal(p, 16), 'ip-header-length')
    })

    it('ip-total-length: total length below the header length', () => {
      const p = datagram(new Uint8Array(8))
      p[2] = 0
      p[3] = 19
      expectDrop(reseal(p), 'ip-total-length')
    })

    it('ip-options: a length byte below 2, past the header, or missing', () => {
      for (const opts of ['94010000', '94090000', '01010194']) {
        const p = new Uint8Array(24)
        p.set(datagram(new Uint8Array(0)))
        p[0] = 0x46
        p[3] = 24
        p.set(fromHex(opts), 20)
        expectDrop(reseal(p, 24), 'ip-options')
      }
    })

    it('ip-checksum: a header that does not sum to zero', () => {
      const p = CAPTURED.linuxSyn.slice()
      p[8] = 63 // TTL decremented without updating the checksum
      expectDrop(p, 'ip-checksum')
    })

    it('ip-fragment: MF set, or a non-zero offset (we do not reassemble)', () => {
      const first = datagram(new Uint8Array(8))
      first[6] = 0x20
      expectDrop(reseal(first), 'ip-fragment')
      const later = datagram(new Uint8Array(8))
      later[6] = 0x00
      later[7] = 0xb9
      expectDrop(reseal(later), 'ip-fragment')
    })
  })
})

describe('writeIPv4Header', () => {
  it('reproduces the header Linux wrote, byte for byte', () => {
    const p = new Uint8Array(20)
    expect(writeIPv4Header(p, 0, { src: KERNEL, dst: STACK, protocol: IPPROTO_TCP, payloadLength: 40, id: 0xe5ea })).toBe(20)
    expect(toHex(p)).toBe(toHex(CAPTURED.linuxSyn.subarray(0, 20)))
  })

  it('defaults to TTL 64, DF set, id 0, TOS 0, and writes at an offset', () => {
    const buf = new Uint8Array(30)
    writeIPv4Header(buf, 10, { src: 1, dst: 2, protocol: 1, payloadLength: 0 })
    expect(toHex(buf.subarray(0, 10))).toBe('00'.repeat(10))
    const { header } = parsedOk(buf.subarray(10))
    expect(header).toMatchObject({ ttl: 64, dontFragment: true, id: 0, tos: 0, totalLength: 20 })
  })

  it('refuses a datagram over 65535 bytes or a buffer too small', () => {
    const buf = new Uint8Array(20)
    expect(() => writeIPv4Header(buf, 0, { src: 1, dst: 2, protocol: 6, payloadLength: 65516 })).toThrow(RangeError)
    expect(() => writeIPv4Header(buf, 1, { src: 1, dst: 2, protocol: 6, payloadLength: 0 })).toThrow(RangeError)
  })

  it('round-trips any header through parseIPv4 (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          src: u32, dst: u32, protocol: fc.integer({ min: 0, max: 255 }), payloadLength: fc.nat({ max: 2000 }),
          ttl: fc.integer({ min: 0, max: 255 }), id: u16, dontFragment: fc.boolean(), tos: fc.integer({ min: 0, max: 255 }),
        }),
        h => {
          const p = new Uint8Array(20 + h.payloadLength)
          writeIPv4Header(p, 0, h)
          const { header, payload } = parsedOk(p)
          expect(header).toEqual({
            headerLength: 20, tos: h.tos, totalLength: 20 + h.payloadLength, id: h.id, dontFragment: h.dontFragment,
            moreFragments: false, fragmentOffset: 0, ttl: h.ttl, protocol: h.protocol, src: h.src, dst: h.dst,
          })
          expect(payload.length).toBe(h.payloadLength)
        },
      ),
    )
  })
})

describe('parseIPv4 on hostile input (properties)', () => {
  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), bytes => {
      const r = parseIPv4(bytes)
      expect(typeof r.ok).toBe('boolean')
    }), { numRuns: 2000 })
  })

  it('never throws on bytes that start like an IPv4 header', () => {
    const headerish = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 80 }))
      .map(([ihl, rest]) => Uint8Array.of(0x40 | ihl, ...rest))
    fc.assert(fc.property(headerish, bytes => {
      const r = parseIPv4(bytes)
      if (r.ok) expect(r.value.payload.length).toBe(r.value.header.totalLength - r.value.header.headerLength)
    }), { numRuns: 2000 })
  })

  it('drops a datagram cut short anywhere', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (payload, cut) => {
      const p = datagram(payload)
      expect(parseIPv4(p.subarray(0, cut % p.length)).ok).toBe(false)
    }))
  })

  it('detects any single bit flipped in the header', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat({ max: 159 }), (payload, bit) => {
      const p = datagram(payload)
      p[bit >> 3]! ^= 0x80 >> (bit & 7)
      expect(parseIPv4(p).ok).toBe(false)
    }))
  })
})

describe('parseAddress and formatAddress', () => {
  it('parses dotted quads to unsigned numbers', () => {
    expect(parseAddress('10.77.0.2')).toBe(0x0a4d0002)
    expect(parseAddress('0.0.0.0')).toBe(0)
    expect(parseAddress('255.255.255.255')).toBe(0xffffffff)
    expect(parseAddress('192.168.0.1')).toBe(0xc0a80001)
  })

  it('refuses anything but four plain decimal octets', () => {
    for (const s of ['', '10.77.0', '10.77.0.2.1', '10.77.0.256', '10.077.0.2', '10.77.0.-1', '10.77.0.2 ',
      '0x0a.0.0.1', '1e1.0.0.1', '10..0.2', 'a.b.c.d', '10.77.0.2/24']) {
      expect(parseAddress(s), s).toBeNull()
    }
  })

  it('formats unsigned and negative int32 forms alike', () => {
    expect(formatAddress(0x0a4d0002)).toBe('10.77.0.2')
    expect(formatAddress(0xc0a80001)).toBe('192.168.0.1')
    expect(formatAddress(0xc0a80001 | 0)).toBe('192.168.0.1')
  })

  it('round-trips every address (property)', () => {
    fc.assert(fc.property(u32, a => {
      expect(parseAddress(formatAddress(a))).toBe(a)
    }))
  })
})
