// Sequence number arithmetic modulo 2^32 (RFC 9293 3.4): comparisons hold
// across the wrap from 0xffffffff to 0, for any distance under 2^31.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  seqAdd, seqDiff, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax, seqMin,
} from '../../../src/stack/tcp/seq'

const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
/** Distances a comparison can order: 0 < n < 2^31. */
const forward = fc.integer({ min: 1, max: 2 ** 31 - 1 })

describe('seqAdd and seqDiff', () => {
  it('wraps past 2^32 and below 0', () => {
    expect(seqAdd(0xffff_ffff, 1)).toBe(0)
    expect(seqAdd(0xffff_fff0, 0x20)).toBe(0x10)
    expect(seqAdd(0, -1)).toBe(0xffff_ffff)
    expect(seqAdd(5, -10)).toBe(0xffff_fffb)
  })

  it('gives the signed distance across the wrap', () => {
    expect(seqDiff(0x10, 0xffff_fff0)).toBe(0x20)
    expect(seqDiff(0xffff_fff0, 0x10)).toBe(-0x20)
    expect(seqDiff(7, 7)).toBe(0)
    expect(seqDiff(0, 0xffff_ffff)).toBe(1)
  })

  it('always returns an unsigned 32-bit sum', () => {
    fc.assert(fc.property(u32, fc.integer({ min: -(2 ** 32), max: 2 ** 32 }), (a, n) => {
      const s = seqAdd(a, n)
      expect(Number.isInteger(s) && s >= 0 && s <= 0xffff_ffff).toBe(true)
    }))
  })

  it('are inverse: seqDiff(seqAdd(a, n), a) = n for |n| < 2^31', () => {
    fc.assert(fc.property(u32, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (a, n) => {
      expect(seqDiff(seqAdd(a, n), a)).toBe(n)
    }))
  })

  it('are inverse the other way: seqAdd(b, seqDiff(a, b)) = a for any a, b', () => {
    fc.assert(fc.property(u32, u32, (a, b) => {
      expect(seqAdd(b, seqDiff(a, b))).toBe(a)
    }))
  })
})

describe('comparisons (RFC 9293 3.4)', () => {
  it('order numbers across the wrap', () => {
    expect(seqLt(0xffff_ffff, 0)).toBe(true)
    expect(seqGt(0, 0xffff_ffff)).toBe(true)
    expect(seqLt(0xffff_ff00, 0x100)).toBe(true)
    expect(seqLe(0x100, 0x100)).toBe(true)
    expect(seqGe(0x100, 0x100)).toBe(true)
    expect(seqLt(0x100, 0x100)).toBe(false)
    expect(seqGt(0x100, 0x100)).toBe(false)
    // Across the sign boundary of a 32-bit int, without any wrap of the value.
    expect(seqLt(0x7fff_ffff, 0x8000_0000)).toBe(true)
  })

  it('seqLt(a, a + n) and seqGt(a + n, a) for 0 < n < 2^31', () => {
    fc.assert(fc.property(u32, forward, (a, n) => {
      const b = seqAdd(a, n)
      expect(seqLt(a, b)).toBe(true)
      expect(seqLe(a, b)).toBe(true)
      expect(seqGt(b, a)).toBe(true)
      expect(seqGe(b, a)).toBe(true)
      expect(seqGe(a, b)).toBe(false)
    }))
  })

  it('are antisymmetric: never both a < b and b < a; a <= b and b <= a only when equal', () => {
    fc.assert(fc.property(u32, u32, (a, b) => {
      expect(seqLt(a, b) && seqLt(b, a)).toBe(false)
      expect(seqLe(a, b) && seqLe(b, a)).toBe(a === b)
      expect(seqGt(a, b)).toBe(seqLt(b, a))
      expect(seqGe(a, b)).toBe(seqLe(b, a))
    }))
  })

  it('are total (exactly one of <, =, >) for any two numbers not 2^31 apart', () => {
    fc.assert(fc.property(u32, u32, (a, b) => {
      fc.pre(seqDiff(a, b) !== -(2 ** 31))
      expect([seqLt(a, b), a === b, seqGt(a, b)].filter(Boolean)).toHaveLength(1)
    }))
  })

  it('call each of two numbers exactly 2^31 apart "before" the other (the undefined case of 3.4)', () => {
    // (a - b) | 0 is -2^31 both ways; TCP never compares numbers this far apart.
    for (const a of [0, 1, 0x7fff_ffff, 0xffff_ffff]) {
      const b = seqAdd(a, 2 ** 31)
      expect(seqLt(a, b)).toBe(true)
      expect(seqLt(b, a)).toBe(true)
    }
  })
})

describe('seqInWindow: low <= x < high', () => {
  it('accepts the left edge and refuses the right edge, across the wrap', () => {
    const low = 0xffff_fff0
    const high = seqAdd(low, 0x20) // 0x10
    expect(seqInWindow(low, low, high)).toBe(true)
    expect(seqInWindow(0xffff_ffff, low, high)).toBe(true)
    expect(seqInWindow(0, low, high)).toBe(true)
    expect(seqInWindow(0xf, low, high)).toBe(true)
    expect(seqInWindow(0x10, low, high)).toBe(false)
    expect(seqInWindow(seqAdd(low, -1), low, high)).toBe(false)
  })

  it('holds exactly for the offsets 0 .. size-1', () => {
    fc.assert(fc.property(u32, fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: -(2 ** 30), max: 2 ** 30 }), (low, size, k) => {
      const high = seqAdd(low, size)
      expect(seqInWindow(seqAdd(low, k), low, high)).toBe(k >= 0 && k < size)
    }))
  })

  it('is empty when low = high', () => {
    fc.assert(fc.property(u32, u32, (x, low) => {
      expect(seqInWindow(x, low, low)).toBe(false)
    }))
  })
})

describe('seqMax and seqMin', () => {
  it('pick by sequence order, not numeric order', () => {
    expect(seqMax(0xffff_fff0, 5)).toBe(5)
    expect(seqMin(0xffff_fff0, 5)).toBe(0xffff_fff0)
  })

  it('return one of their arguments, ordered', () => {
    fc.assert(fc.property(u32, forward, (a, n) => {
      const b = seqAdd(a, n)
      expect(seqMax(a, b)).toBe(b)
      expect(seqMax(b, a)).toBe(b)
      expect(seqMin(a, b)).toBe(a)
      expect(seqMin(b, a)).toBe(a)
    }))
  })
})
