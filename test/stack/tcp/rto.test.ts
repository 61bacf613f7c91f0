// The retransmission timeout of RFC 6298: SRTT, RTTVAR, the bounds, and backoff.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_TCP_CONFIG } from '../../../src/stack/tcp/config'
import { RtoEstimator, type RtoConfig } from '../../../src/stack/tcp/rto'

const G = 1 // the clock granularity the code uses: the timer wheel ticks in ms
const config: RtoConfig = { initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 60_000, minRtoOnVariance: false }

/** RFC 6298 2.2 and 2.3, written out independently. */
function reference(samples: number[], c: RtoConfig = config): { srtt: number; rttvar: number; rto: number } {
  let srtt = 0
  let rttvar = 0
  samples.forEach((r, i) => {
    if (i === 0) {
      srtt = r
      rttvar = r / 2
    } else {
      rttvar = (1 - 1 / 4) * rttvar + (1 / 4) * Math.abs(srtt - r)
      srtt = (1 - 1 / 8) * srtt + (1 / 8) * r
    }
  })
  const rto = Math.min(c.maxRtoMs, Math.max(c.minRtoMs, srtt + Math.max(G, 4 * rttvar)))
  return { srtt, rttvar, rto }
}

describe('RtoEstimator (RFC 6298)', () => {
  it('defaults to an initial RTO of 1 s, a 200 ms floor and a 60 s ceiling', () => {
    expect(DEFAULT_TCP_CONFIG.initialRtoMs).toBe(1000) // 2.1
    expect(DEFAULT_TCP_CONFIG.minRtoMs).toBe(200) // 2.4 says 1 s; the code documents Linux's 200 ms
    expect(DEFAULT_TCP_CONFIG.maxRtoMs).toBe(60_000) // 2.5
  })

  it('starts at the initial RTO with no SRTT (2.1)', () => {
    const e = new RtoEstimator(config)
    expect(e.rto).toBe(1000)
    expect(e.srtt).toBeUndefined()
    expect(e.backoff).toBe(0)
  })

  it('takes the first sample R as SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR) (2.2)', () => {
    const e = new RtoEstimator(config)
    e.sample(300)
    expect(e.srtt).toBe(300)
    expect(e.rttvar).toBe(150)
    expect(e.rto).toBe(300 + 4 * 150)
  })

  it('folds later samples in with alpha = 1/8 and beta = 1/4, RTTVAR first (2.3)', () => {
    const e = new RtoEstimator(config)
    e.sample(300)
    e.sample(500)
    // RTTVAR uses the old SRTT: 3/4 * 150 + 1/4 * |300 - 500| = 162.5; SRTT = 7/8 * 300 + 1/8 * 500 = 325.
    expect(e.rttvar).toBe(162.5)
    expect(e.srtt).toBe(325)
    expect(e.rto).toBe(325 + 4 * 162.5)
    e.sample(100)
    // RTTVAR = 3/4 * 162.5 + 1/4 * |325 - 100| = 178.125; SRTT = 7/8 * 325 + 1/8 * 100 = 296.875
    expect(e.rttvar).toBe(178.125)
    expect(e.srtt).toBe(296.875)
  })

  it('uses G when 4 RTTVAR is smaller than the clock granularity (2.3)', () => {
    const e = new RtoEstimator({ initialRtoMs: 1000, minRtoMs: 0, maxRtoMs: 60_000, minRtoOnVariance: false })
    for (let i = 0; i < 200; i++) e.sample(50) // RTTVAR decays towards 0
    expect(4 * e.rttvar).toBeLessThan(G)
    expect(e.rto).toBeCloseTo(50 + G, 9)
  })

  it("in the Linux profile the minimum bounds the variance term: RTO = SRTT + max(4 RTTVAR, 200 ms) (Linux's tcp_set_rto)", () => {
    const e = new RtoEstimator({ ...config, minRtoOnVariance: true })
    e.sample(100) // RTTVAR 50: 4 RTTVAR = 200
    expect(e.rto).toBe(300)
    for (let i = 0; i < 50; i++) e.sample(100) // RTTVAR decays towards 0; the 200 ms stays above SRTT
    expect(e.rto).toBeCloseTo(300, 6)
    const rfc = new RtoEstimator(config)
    for (let i = 0; i < 51; i++) rfc.sample(100)
    expect(rfc.rto).toBe(200) // RFC 6298 2.4: max(SRTT + 4 RTTVAR, 200)
  })

  it('rounds a small RTO up to the minimum (2.4)', () => {
    const e = new RtoEstimator(config)
    e.sample(0)
    expect(e.rto).toBe(200)
    e.sample(10)
    expect(e.rto).toBe(200)
  })

  it('caps a large RTO at the maximum (2.5)', () => {
    const e = new RtoEstimator(config)
    e.sample(50_000) // 50 s + 4 * 25 s
    expect(e.rto).toBe(60_000)
  })

  it('doubles on each expiry and stops at the maximum (5.5)', () => {
    const e = new RtoEstimator(config)
    const seen: number[] = []
    for (let i = 0; i < 10; i++) {
      seen.push(e.rto)
      e.backOff()
    }
    expect(seen).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000])
    // The counter stops too, so the power never overflows however long the outage.
    expect(e.backoff).toBe(6)
  })

  it('clears the backoff on a new sample (5.7, with Karn: only fresh samples get here)', () => {
    const e = new RtoEstimator(config)
    e.sample(300)
    e.backOff()
    e.backOff()
    expect(e.rto).toBe(4 * 900)
    e.sample(300)
    expect(e.backoff).toBe(0)
    expect(e.rto).toBe(reference([300, 300]).rto)
  })

  it('matches the formulas of 2.2 and 2.3 for any series of samples', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 1, maxLength: 40 }), samples => {
      const e = new RtoEstimator(config)
      for (const r of samples) e.sample(r)
      const want = reference(samples)
      expect(e.srtt).toBeCloseTo(want.srtt, 6)
      expect(e.rttvar).toBeCloseTo(want.rttvar, 6)
      expect(e.rto).toBeCloseTo(want.rto, 6)
      expect(e.rto).toBeGreaterThanOrEqual(config.minRtoMs)
      expect(e.rto).toBeLessThanOrEqual(config.maxRtoMs)
    }))
  })

  it('keeps any backed-off RTO within [min, max] and never lowers it', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 0, max: 40 }), (r, n) => {
      const e = new RtoEstimator(config)
      e.sample(r)
      let last = e.rto
      for (let i = 0; i < n; i++) {
        e.backOff()
        expect(e.rto).toBeGreaterThanOrEqual(last)
        expect(e.rto).toBeLessThanOrEqual(config.maxRtoMs)
        expect(e.rto === config.maxRtoMs || e.rto === 2 * last).toBe(true)
        last = e.rto
      }
    }))
  })
})
