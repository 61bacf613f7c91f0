// The Address of both families (wire/address.ts): IPv4 a number, IPv6 its RFC 5952 text.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  addressText, bytesV6, defaultMss, endpointText, familyOf, fromBytesV6, hostPortText, isMulticast, parseAnyAddress,
  pseudoHeaderSumOf, tcpOverhead, writeAddress,
} from '../../../src/stack/wire/address'
import { pseudoHeaderSum } from '../../../src/stack/wire/checksum'
import { formatAddressV6, parseAddressV6, pseudoHeaderSumV6 } from '../../../src/stack/wire/ipv6'

describe('Address (IPv4 number, IPv6 RFC 5952 text)', () => {
  it('parses either family to one spelling, and prints it as users and ss do', () => {
    expect(parseAnyAddress('10.77.0.2')).toBe(0x0a4d0002)
    expect(parseAnyAddress('FD77:0:0::0002')).toBe('fd77::2')
    expect(parseAnyAddress('[fd77::2]')).toBe('fd77::2')
    expect(parseAnyAddress('example.com')).toBeNull()
    expect([addressText(0x0a4d0002), addressText('fd77::2')]).toEqual(['10.77.0.2', 'fd77::2'])
    expect([endpointText(0x0a4d0002, 80), endpointText('fd77::2', 80)]).toEqual(['10.77.0.2:80', '[fd77::2]:80'])
    expect([hostPortText('10.77.0.2', 7), hostPortText('fd77::2', 7)]).toEqual(['10.77.0.2:7', '[fd77::2]:7'])
    expect([familyOf(1), familyOf('::1')]).toEqual(['IPv4', 'IPv6'])
  })

  it('knows each family\'s header sizes, default MSS and multicast (RFC 9293 3.7.1, RFC 8200 8.3)', () => {
    expect([tcpOverhead(1), tcpOverhead('fd77::2')]).toEqual([40, 60])
    expect([defaultMss(1), defaultMss('fd77::2')]).toEqual([536, 1220])
    expect([isMulticast(0xe0000001), isMulticast(0x0a000001), isMulticast('ff02::1'), isMulticast('fd77::2')]).toEqual([true, false, true, false])
  })

  it('writes 4 or 16 bytes for the hashes, and sums either pseudo header as its own function does', () => {
    const b = new Uint8Array(20)
    expect(writeAddress(b, 0, 0x0a4d0002)).toBe(4)
    expect(writeAddress(b, 4, 'fd77::2')).toBe(20)
    expect(Array.from(b.subarray(0, 4))).toEqual([10, 77, 0, 2])
    expect(b.subarray(4)).toEqual(parseAddressV6('fd77::2'))
    expect(pseudoHeaderSumOf(1, 2, 6, 40)).toBe(pseudoHeaderSum(1, 2, 6, 40))
    const [s, d] = [parseAddressV6('fd77::1')!, parseAddressV6('fd77::2')!]
    expect(pseudoHeaderSumOf('fd77::1', 'fd77::2', 6, 70000)).toBe(pseudoHeaderSumV6(s, d, 6, 70000))
    expect(pseudoHeaderSumOf(s, 'fd77::2', 17, 8)).toBe(pseudoHeaderSumV6(s, d, 17, 8))
    expect(() => pseudoHeaderSumOf(1, 'fd77::2', 6, 20)).toThrow(RangeError)
  })

  it('turns 16 bytes into the same text as formatAddressV6, whatever came before (the cache of recent ones)', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 12 }), list => {
      for (const bytes of [...list, ...list.reverse()]) expect(fromBytesV6(bytes)).toBe(formatAddressV6(bytes))
    }))
    const buf = parseAddressV6('fd77::9')!
    expect(fromBytesV6(buf)).toBe('fd77::9')
    buf[15] = 8 // the caller's buffer reused: the cache kept a copy of its own
    expect(fromBytesV6(buf)).toBe('fd77::8')
    expect(bytesV6('fd77::8')).toEqual(buf)
  })
})
