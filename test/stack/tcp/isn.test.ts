// Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret), M a
// 4-microsecond clock, F a keyed hash.
import { describe, expect, it } from 'vitest'
import { IsnGenerator } from '../../../src/stack/tcp/isn'
import { SeededRandom } from '../../../src/stack/random'
import { seqDiff } from '../../../src/stack/tcp/seq'
import type { Clock } from '../../../src/stack/time/clock'

/** A clock the test sets directly (ms, fractions allowed). */
class SetClock implements Clock {
  constructor(public t = 0) {}
  now(): number { return this.t }
  wakeAt(): void {}
  cancelWake(): void {}
}

const LOCAL = 0x0a000002
const REMOTE = 0x0a000001

/** How many of the 32 bits differ. */
function hamming(a: number, b: number): number {
  let x = (a ^ b) >>> 0
  let n = 0
  while (x !== 0) { n += x & 1; x >>>= 1 }
  return n
}

describe('IsnGenerator (RFC 6528)', () => {
  it('gives the same ISN for the same tuple, secret and time', () => {
    const clock = new SetClock(5000)
    const a = new IsnGenerator(clock, new SeededRandom(1))
    const b = new IsnGenerator(clock, new SeededRandom(1))
    expect(a.next(LOCAL, 80, REMOTE, 40000)).toBe(b.next(LOCAL, 80, REMOTE, 40000))
    expect(a.next(LOCAL, 80, REMOTE, 40000)).toBe(a.next(LOCAL, 80, REMOTE, 40000))
  })

  it('returns unsigned 32-bit integers', () => {
    const gen = new IsnGenerator(new SetClock(123_456_789.5), new SeededRandom(3))
    for (let port = 1; port < 200; port++) {
      const isn = gen.next(LOCAL, 80, REMOTE, port)
      expect(Number.isInteger(isn) && isn >= 0 && isn <= 0xffff_ffff).toBe(true)
    }
  })

  it('gives different 4-tuples unrelated ISNs (section 3: F is a keyed hash)', () => {
    const gen = new IsnGenerator(new SetClock(0), new SeededRandom(9))
    const isns: number[] = []
    for (let port = 40000; port < 41000; port++) isns.push(gen.next(LOCAL, 80, REMOTE, port))
    // Neighbouring ports do not give neighbouring (or evenly spaced) ISNs.
    expect(new Set(isns).size).toBe(isns.length)
    const steps = new Set(isns.slice(1).map((x, i) => seqDiff(x, isns[i]!)))
    expect(steps.size).toBeGreaterThan(990)
    // Each bit is set in about half of them, as for random numbers (binomial, sd ~16 of 1000).
    for (let bit = 0; bit < 32; bit++) {
      const ones = isns.filter(x => (x >>> bit) & 1).length
      expect(ones, `bit ${bit}`).toBeGreaterThan(400)
      expect(ones, `bit ${bit}`).toBeLessThan(600)
    }
    // Every part of the tuple matters, and changing one bit of it changes about half the ISN's bits.
    const base = gen.next(LOCAL, 80, REMOTE, 40000)
    const variants = [
      gen.next(LOCAL + 1, 80, REMOTE, 40000),
      gen.next(LOCAL, 81, REMOTE, 40000),
      gen.next(LOCAL, 80, REMOTE + 1, 40000),
      gen.next(LOCAL, 80, REMOTE, 40001),
      gen.next(REMOTE, 40000, LOCAL, 80), // the reverse direction is another tuple
    ]
    for (const v of variants) {
      expect(v).not.toBe(base)
      expect(hamming(v, base)).toBeGreaterThan(4)
    }
  })

  it('advances with the clock by one every 4 microseconds for the same tuple (M of section 3)', () => {
    const clock = new SetClock(10_000)
    const gen = new IsnGenerator(clock, new SeededRandom(2))
    const isn = () => gen.next(LOCAL, 80, REMOTE, 40000)
    const t0 = isn()
    clock.t = 10_000.004 // 4 us later
    expect(seqDiff(isn(), t0)).toBe(1)
    clock.t = 10_001 // 1 ms
    expect(seqDiff(isn(), t0)).toBe(250)
    clock.t = 11_000 // 1 s
    expect(seqDiff(isn(), t0)).toBe(250_000)
    clock.t = 10_000 + 60_000 // one minute: still monotonic in sequence space
    expect(seqDiff(isn(), t0)).toBe(15_000_000)
  })

  it('wraps modulo 2^32 when M passes 2^32 (about every 4.77 hours)', () => {
    const clock = new SetClock(0)
    const gen = new IsnGenerator(clock, new SeededRandom(2))
    const t0 = gen.next(LOCAL, 80, REMOTE, 40000)
    clock.t = 2 ** 32 / 250 // exactly one full turn of M
    expect(gen.next(LOCAL, 80, REMOTE, 40000)).toBe(t0)
    clock.t += 1
    expect(seqDiff(gen.next(LOCAL, 80, REMOTE, 40000), t0)).toBe(250)
  })

  it('gives a different sequence for a different secret (section 3: the secret key)', () => {
    const clock = new SetClock(1000)
    const one = new IsnGenerator(clock, new SeededRandom(1))
    const two = new IsnGenerator(clock, new SeededRandom(2))
    const diffs = new Set<number>()
    for (let port = 1000; port < 1100; port++) {
      const a = one.next(LOCAL, 80, REMOTE, port)
      const b = two.next(LOCAL, 80, REMOTE, port)
      expect(a).not.toBe(b)
      diffs.add(seqDiff(a, b))
    }
    // Not merely shifted by a constant: knowing one secret's ISNs says nothing of the other's.
    expect(diffs.size).toBe(100)
  })

  it('starts TSvals at a keyed hash of the two addresses: the same for every 4-tuple between them (RFC 7323 5.4)', () => {
    const clock = new SetClock(1000)
    const one = new IsnGenerator(clock, new SeededRandom(1))
    const offset = one.timestampOffset(LOCAL, REMOTE)
    clock.t += 5000
    expect(one.timestampOffset(LOCAL, REMOTE)).toBe(offset) // not time-dependent: TSvals keep growing across incarnations
    expect(one.timestampOffset(LOCAL, REMOTE + 1)).not.toBe(offset)
    expect(new IsnGenerator(clock, new SeededRandom(2)).timestampOffset(LOCAL, REMOTE)).not.toBe(offset)
  })
})
