// CUBIC's window against RFC 9438: beta 0.7, the curve W(t) = C(t-K)^3 + W_max,
// the Reno-friendly region, fast convergence, and RFC 5681's timeout.
import { describe, expect, it } from 'vitest'
import { CUBIC_BETA, CUBIC_C, Cubic } from '../../../../src/stack/tcp/congestion/cubic'

const MSS = 1000

/** Acknowledge one full window, one ACK per segment, at time `now` (ms). */
function ackWindow(cc: Cubic, now: number, srtt: number): void {
  const segments = Math.floor(cc.cwnd / MSS)
  for (let i = 0; i < segments; i++) cc.onAck(MSS, { now, mss: MSS, srtt })
}

function afterLossAt(wMax: number): Cubic {
  const cc = new Cubic(MSS)
  cc.init(MSS, false)
  cc.cwnd = wMax * MSS
  cc.onCongestion(wMax * MSS, { now: 0, mss: MSS, srtt: 100 })
  return cc
}

describe('CUBIC (RFC 9438)', () => {
  it('multiplies the window by beta_cubic = 0.7 on a loss (4.6)', () => {
    const cc = afterLossAt(100)
    expect(CUBIC_BETA).toBe(0.7)
    expect(cc.ssthresh).toBe(70 * MSS)
    expect(cc.cwnd).toBe(70 * MSS)
    expect(cc.wMax).toBe(100)
  })

  it('follows W_cubic(t) = C*(t-K)^3 + W_max: concave up to W_max at t = K, then convex (4.2, 4.4, 4.5)', () => {
    const cc = afterLossAt(100)
    const rtt = 100 // ms; a long RTT keeps CUBIC out of the Reno-friendly region here
    const k = Math.cbrt((100 - 70) / CUBIC_C) // eq. 2: about 4.22 s
    let now = 0
    const samples: { t: number; cwnd: number }[] = []
    while (now < 8_000) {
      ackWindow(cc, now, rtt)
      samples.push({ t: now / 1000, cwnd: cc.cwnd / MSS })
      now += rtt
    }
    expect(cc.k).toBeCloseTo(k, 6)
    // After each window's ACKs, cwnd has reached W_cubic one RTT ahead, within a segment or so;
    // it never falls below the curve.
    for (const { t, cwnd } of samples.filter(s => s.t > 0.5 && s.t < 5.5)) {
      expect(Math.abs(cwnd - (CUBIC_C * (t + rtt / 1000 - k) ** 3 + 100))).toBeLessThan(1.5)
    }
    for (const { t, cwnd } of samples) expect(cwnd).toBeGreaterThan(CUBIC_C * (t - k) ** 3 + 100 - 0.5)
    // From about 5.7 s W_est (alpha 0.53 per RTT from 70) has passed cwnd_prior = 100 and grows one
    // segment per RTT, faster than the curve here: the Reno-friendly region takes over (4.3).
    const late = samples.filter(s => s.t >= 6.5)
    expect(late[late.length - 1]!.cwnd - late[0]!.cwnd).toBeCloseTo(late.length - 1, 0)
    // The plateau: around t = K the window sits at W_max.
    const atK = samples.find(s => s.t >= k)!
    expect(atK.cwnd).toBeGreaterThan(99)
    expect(atK.cwnd).toBeLessThan(102)
    // Concave before K (growth slowing), convex after (growth speeding up).
    const growth = (a: number, b: number) => samples.find(s => s.t >= b)!.cwnd - samples.find(s => s.t >= a)!.cwnd
    expect(growth(1, 2)).toBeGreaterThan(growth(3, 4))
    expect(growth(6, 7)).toBeGreaterThan(growth(5, 6))
  })

  it('is Reno-friendly on a short RTT: cwnd follows W_est, alpha = 3(1-beta)/(1+beta) per RTT (4.3)', () => {
    const cc = afterLossAt(20)
    const rtt = 1 // ms: the cubic curve is nearly flat over a few hundred RTTs
    let now = 0
    for (let i = 0; i < 10; i++) {
      ackWindow(cc, now, rtt)
      now += rtt
    }
    const alpha = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA)
    // About alpha segments per RTT above cwnd_epoch = 14, well above W_cubic(t) (about 14 still).
    expect(cc.cwnd / MSS).toBeGreaterThan(14 + 10 * alpha - 0.5)
    expect(cc.cwnd / MSS).toBeLessThan(14 + 10 * alpha + 0.5)
    expect(cc.wCubic(now / 1000)).toBeLessThan(cc.cwnd / MSS)
  })

  it('with fast convergence, a loss below the last W_max lowers W_max to cwnd*(1+beta)/2 (4.7)', () => {
    const cc = afterLossAt(100)
    expect(cc.cwnd).toBe(70 * MSS)
    cc.onCongestion(70 * MSS, { now: 1000, mss: MSS, srtt: 100 }) // another loss before reaching 100
    expect(cc.wMax).toBeCloseTo(70 * (1 + CUBIC_BETA) / 2, 9)
    expect(cc.cwnd).toBe(49 * MSS)
  })

  it('undoes a spurious reduction (Eifel, RFC 4015): W_max as before it, and a new stage from the cwnd given', () => {
    const cc = afterLossAt(100) // W_max = 100
    cc.cwnd = 80 * MSS
    cc.onCongestion(80 * MSS, { now: 1_000, mss: MSS, srtt: 100 }) // fast convergence: W_max = 68
    expect(cc.wMax).toBe(80 * (1 + CUBIC_BETA) / 2)
    cc.onUndo(80 * MSS, 80 * MSS)
    expect(cc.wMax).toBe(100)
    expect(cc.cwnd).toBe(80 * MSS)
    expect(cc.ssthresh).toBe(80 * MSS)
    expect(cc.epochStart).toBeNull()
  })

  it('collapses to one segment on a timeout, ssthresh from beta; then K = 0 and W_max = cwnd_epoch (4.8)', () => {
    const cc = new Cubic(MSS)
    cc.init(MSS, false)
    cc.cwnd = 50 * MSS
    cc.onRto(50 * MSS, true, { now: 0, mss: MSS, srtt: 100 })
    expect(cc.cwnd).toBe(MSS)
    expect(cc.ssthresh).toBe(35 * MSS)
    while (cc.cwnd < cc.ssthresh) cc.onAck(MSS, { now: 0, mss: MSS, srtt: 100 }) // slow start back up
    expect(cc.cwnd).toBe(35 * MSS)
    cc.onAck(MSS, { now: 500, mss: MSS, srtt: 100 }) // the first ACK in congestion avoidance starts the epoch
    expect(cc.k).toBe(0)
    expect(cc.wMax).toBe(35)
  })

  it('uses the RFC 6928 initial window and RFC 5681 slow start (doubling per RTT)', () => {
    const cc = new Cubic(1460)
    cc.init(1460, false)
    expect(cc.cwnd).toBe(14_600)
    const seen = [cc.cwnd / 1460]
    for (let i = 0; i < 3; i++) {
      const n = cc.cwnd / 1460
      for (let j = 0; j < n; j++) cc.onAck(1460, { now: 0, mss: 1460, srtt: 10 })
      seen.push(cc.cwnd / 1460)
    }
    expect(seen).toEqual([10, 20, 40, 80])
  })
})
