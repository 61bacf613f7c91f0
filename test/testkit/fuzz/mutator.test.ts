import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../../src/stack/random'
import { mutateBytes } from '../../../src/testkit/fuzz/mutator'

describe('mutateBytes', () => {
  const input = Uint8Array.from({ length: 64 }, (_, i) => i)

  it('makes the same mutations for the same seed', () => {
    const a = Array.from({ length: 50 }, (_, i) => mutateBytes(input, new SeededRandom(i)))
    const b = Array.from({ length: 50 }, (_, i) => mutateBytes(input, new SeededRandom(i)))
    expect(b).toEqual(a)
  })

  it('changes the input in most cases and never the original', () => {
    const r = new SeededRandom(3)
    let changed = 0
    for (let i = 0; i < 500; i++) {
      const out = mutateBytes(input, r)
      if (out.length !== input.length || out.some((b, j) => b !== input[j])) changed++
    }
    expect(changed).toBeGreaterThan(450)
    expect(input).toEqual(Uint8Array.from({ length: 64 }, (_, i) => i))
  })

  it('keeps inputs within maxLength and grows empty ones', () => {
    const r = new SeededRandom(5)
    let grew = false
    for (let i = 0; i < 300; i++) {
      expect(mutateBytes(input, r, { maxLength: 70 }).length).toBeLessThanOrEqual(70)
      if (mutateBytes(new Uint8Array(0), r).length > 0) grew = true
    }
    expect(grew).toBe(true)
  })

  it('splices pieces of other inputs from the pool', () => {
    const r = new SeededRandom(9)
    const pool = [new Uint8Array(32).fill(0xee)]
    let spliced = false
    for (let i = 0; i < 300 && !spliced; i++) spliced = mutateBytes(new Uint8Array(8), r, { pool }).includes(0xee)
    expect(spliced).toBe(true)
  })
})
