// The random source is injected so tests are reproducible from a seed.

import { randomFillSync } from 'node:crypto'

export interface Random {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number
}

/** splitmix32: a Weyl sequence (step: the golden ratio) through a murmur3-style mixer; used to seed. */
function splitmix32(state: number): { value: number; state: number } {
  state = (state + 0x9e3779b9) >>> 0
  let z = state
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return { value: (z ^ (z >>> 16)) >>> 0, state }
}

/**
 * xoshiro128** (Blackman & Vigna, 2018): 128 bits of state, period 2^128 - 1, passes
 * BigCrush. Deterministic: the same seed always gives the same sequence. Not for
 * secrets (ISNs facing real peers should use CryptoRandom).
 */
export class SeededRandom implements Random {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  /** Any finite number; the integer part, up to 2^53, is used (negative seeds are fine). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`)
    const whole = Math.trunc(seed)
    // Fold the high bits into the state word so seeds past 2^32 differ too.
    let state = (whole >>> 0) ^ Math.imul(Math.floor(whole / 2 ** 32) >>> 0, 0x2545f491)
    const words: number[] = []
    for (let i = 0; i < 4; i++) {
      const next = splitmix32(state)
      state = next.state
      words.push(next.value)
    }
    ;[this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number]
    // The all-zero state is the one fixed point; splitmix32 cannot produce four zeros, but be sure.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  nextUint32(): number {
    const s1 = this.s1
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** Random numbers from the OS (node:crypto), fetched 4 KiB at a time. */
export class CryptoRandom implements Random {
  private readonly buffer = new Uint32Array(1024)
  private index = this.buffer.length

  nextUint32(): number {
    if (this.index === this.buffer.length) {
      randomFillSync(this.buffer)
      this.index = 0
    }
    return this.buffer[this.index++]!
  }
}
