// SipHash-2-4 (siphash.ts): the paper's test vector, and the plain-number form (siphash24Low32,
// the ISN's PRF) equal to the low half of the BigInt one on any key and input.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { siphash24, siphash24Low32 } from '../../../src/stack/tcp/siphash'

const RUNS = Number(process.env.FUZZ_RUNS ?? 200)

/** The 64-bit little-endian key word at key[i] as a BigInt, and as (high, low) halves. */
const word = (key: Uint8Array, i: number) => {
  let w = 0n
  for (let j = 7; j >= 0; j--) w = (w << 8n) | BigInt(key[i + j]!)
  return { big: w, hi: Number(w >> 32n), lo: Number(w & 0xffffffffn) }
}

describe('siphash24Low32', () => {
  it('gives the low half of the paper\'s vector (key 00..0f, message 00..0e: a129ca6149be45e5)', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i)
    const k0 = word(key, 0)
    const k1 = word(key, 8)
    expect(siphash24Low32(k0.hi, k0.lo, k1.hi, k1.lo, Uint8Array.from({ length: 15 }, (_, i) => i)).toString(16)).toBe('49be45e5')
  })

  it('equals the low 32 bits of siphash24 for any key and any input of 0 to 40 bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 40 }), (key, data) => {
      const k0 = word(key, 0)
      const k1 = word(key, 8)
      expect(siphash24Low32(k0.hi, k0.lo, k1.hi, k1.lo, data)).toBe(Number(siphash24(k0.big, k1.big, data) & 0xffffffffn))
    }), { numRuns: RUNS })
  })
})
