import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checksum, onesComplementSum, pseudoHeaderSum } from '../../../src/stack/wire/checksum'
import { CAPTURED, KERNEL, STACK, fromHex, referenceSum } from './helpers'

describe('onesComplementSum and checksum (RFC 1071)', () => {
  it('sums the worked example of RFC 1071 3 to ddf2', () => {
    const bytes = fromHex('0001 f203 f4f5 f6f7')
    expect(onesComplementSum(bytes, 0, bytes.length)).toBe(0xddf2)
    expect(checksum(bytes, 0, bytes.length)).toBe(0x220d)
  })

  it('pads an odd final byte with zero on the right (RFC 1071 4.1)', () => {
    expect(onesComplementSum(fromHex('01'), 0, 1)).toBe(0x0100)
    expect(onesComplementSum(fromHex('abcdef'), 0, 3)).toBe(0x9ace) // abcd + ef00 = 19acd -> 9ace
    expect(onesComplementSum(fromHex('0001f203f4f5f6f7ff'), 0, 9)).toBe(0xddf2 + 0xff00 - 0xffff)
  })

  it('sums nothing to the initial value, folded', () => {
    expect(onesComplementSum(new Uint8Array(0), 0, 0)).toBe(0)
    expect(onesComplementSum(new Uint8Array(0), 0, 0, 0x1234)).toBe(0x1234)
    expect(onesComplementSum(new Uint8Array(0), 0, 0, 0x12345)).toBe(0x2346)
    expect(onesComplementSum(new Uint8Array(0), 0, 0, 2 ** 40)).toBe(referenceSum(new Uint8Array(0), 2 ** 40))
  })

  it('reproduces the checksum of a textbook IPv4 header (c0a8 0001 -> c0a8 00c7, b861)', () => {
    const header = fromHex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7')
    expect(checksum(header, 0, 20)).toBe(0)
    header[10] = 0
    header[11] = 0
    expect(checksum(header, 0, 20)).toBe(0xb861)
  })

  it('reproduces the checksums the Linux kernel wrote in a captured SYN', () => {
    const p = CAPTURED.linuxSyn.slice()
    expect(checksum(p, 0, 20)).toBe(0)
    p[10] = 0
    p[11] = 0
    expect(checksum(p, 0, 20)).toBe(0x4035)
    // TCP: pseudo header, then the segment (RFC 9293 3.1).
    expect(checksum(p, 20, 60, pseudoHeaderSum(KERNEL, STACK, 6, 40))).toBe(0)
    p[36] = 0
    p[37] = 0
    expect(checksum(p, 20, 60, pseudoHeaderSum(KERNEL, STACK, 6, 40))).toBe(0xbf17)
  })

  it('sums the pseudo header as five words and a zero byte', () => {
    const ph = fromHex('0a4d0001 0a4d0002 00 06 0028')
    expect(pseudoHeaderSum(KERNEL, STACK, 6, 40)).toBe(referenceSum(ph))
    // Addresses given as negative int32 (after | 0) mean the same thing.
    expect(pseudoHeaderSum(0xc0a80001 | 0, 0xffffffff | 0, 6, 0xffff)).toBe(pseudoHeaderSum(0xc0a80001, 0xffffffff, 6, 0xffff))
  })

  it('does not overflow on the largest datagram of 0xff bytes', () => {
    const big = new Uint8Array(65535).fill(0xff)
    expect(onesComplementSum(big, 0, big.length)).toBe(referenceSum(big))
  })

  it('agrees with a reference implementation on any bytes and range (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), fc.nat({ max: 0xffffff }), (bytes, a, b, init) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1)
        const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1))
        expect(onesComplementSum(bytes, start, end, init)).toBe(referenceSum(bytes.subarray(start, end), init))
      }),
    )
  })

  it('chains: the sum of a then b equals the sum of b started from the sum of a (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (a0, b) => {
        const a = a0.length % 2 === 0 ? a0 : a0.subarray(1) // chaining needs even-length pieces but the last
        const all = new Uint8Array(a.length + b.length)
        all.set(a)
        all.set(b, a.length)
        const whole = onesComplementSum(all, 0, all.length)
        const chained = onesComplementSum(b, 0, b.length, onesComplementSum(a, 0, a.length))
        expect(chained).toBe(whole)
      }),
    )
  })

  it('verifies to 0 once the checksum is written into the data (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 300 }), fc.nat(), (bytes, at) => {
        const i = (at % (bytes.length >> 1)) * 2 // an even offset: a 16-bit field
        bytes[i] = 0
        bytes[i + 1] = 0
        const c = checksum(bytes, 0, bytes.length)
        bytes[i] = c >>> 8
        bytes[i + 1] = c & 0xff
        expect(checksum(bytes, 0, bytes.length)).toBe(0)
      }),
    )
  })
})
