// NewReno's window against the rules of RFC 5681 3.1 and RFC 6928, one event at a time.
import { describe, expect, it } from 'vitest'
import { NewReno } from '../../../../src/stack/tcp/congestion/newreno'
import { INITIAL_SSTHRESH, initialWindow } from '../../../../src/stack/tcp/congestion/types'

const MSS = 1460
const ctx = { now: 0, mss: MSS, srtt: 10 }

/** One round trip in which every segment of the window is acknowledged, one ACK per segment. */
function roundTrip(cc: NewReno): void {
  const segments = Math.floor(cc.cwnd / MSS)
  for (let i = 0; i < segments; i++) cc.onAck(MSS, ctx)
}

describe('NewReno (RFC 5681)', () => {
  it('starts from IW = min(10*MSS, max(2*MSS, 14600)) (RFC 6928 2)', () => {
    expect(initialWindow(1460)).toBe(14_600) // 10 segments
    expect(initialWindow(536)).toBe(5_360) // 10 segments
    expect(initialWindow(8960)).toBe(17_920) // 2 segments of a jumbo MSS
    const cc = new NewReno(536)
    cc.init(MSS, false)
    expect(cc.cwnd).toBe(10 * MSS)
    expect(cc.ssthresh).toBe(INITIAL_SSTHRESH)
  })

  it('starts from one segment when the SYN or SYN,ACK was lost (RFC 5681 3.1)', () => {
    const cc = new NewReno(MSS)
    cc.init(MSS, true)
    expect(cc.cwnd).toBe(MSS)
  })

  it('doubles cwnd every round trip in slow start (RFC 5681 3.1)', () => {
    const cc = new NewReno(MSS)
    cc.init(MSS, false)
    const seen = [cc.cwnd / MSS]
    for (let rtt = 0; rtt < 4; rtt++) {
      roundTrip(cc)
      seen.push(cc.cwnd / MSS)
    }
    expect(seen).toEqual([10, 20, 40, 80, 160])
  })

  it('counts bytes, so delayed ACKs (one per two segments) still double it', () => {
    const cc = new NewReno(MSS)
    cc.init(MSS, false)
    for (let i = 0; i < 5; i++) cc.onAck(2 * MSS, ctx)
    expect(cc.cwnd).toBe(20 * MSS)
  })

  it('adds one SMSS per round trip in congestion avoidance (RFC 5681 3.1, RFC 3465 2.1)', () => {
    const cc = new NewReno(MSS)
    cc.init(MSS, false)
    cc.ssthresh = 20 * MSS
    roundTrip(cc) // slow start to ssthresh
    expect(cc.cwnd).toBe(20 * MSS)
    const seen: number[] = []
    for (let rtt = 0; rtt < 5; rtt++) {
      roundTrip(cc)
      seen.push(cc.cwnd / MSS)
    }
    expect(seen).toEqual([21, 22, 23, 24, 25])
  })

  it('halves: ssthresh = max(FlightSize/2, 2*SMSS) on a loss (RFC 5681 eq. 4)', () => {
    const cc = new NewReno(MSS)
    cc.init(MSS, false)
    cc.onCongestion(40 * MSS, ctx)
    expect(cc.ssthresh).toBe(20 * MSS)
    expect(cc.cwnd).toBe(20 * MSS)
    cc.onCongestion(3 * MSS, ctx)
    expect(cc.ssthresh).toBe(2 * MSS) // never below two segments
  })

  it('halves an odd flight to whole segments, rounded down (as Linux: cwnd >> 1), and then grows one segment per window of them', () => {
    const cc = new NewReno(MSS)
    cc.init(MSS, false)
    cc.onCongestion(7 * MSS, ctx)
    expect(cc.ssthresh).toBe(3 * MSS) // not 3.5: no half segment that no full one could use
    expect(cc.cwnd).toBe(3 * MSS)
    for (let i = 0; i < 3; i++) cc.onAck(MSS, ctx) // the 3 segments in flight acknowledged
    expect(cc.cwnd).toBe(4 * MSS) // one round trip: one SMSS more (RFC 5681 3.1)
    cc.onCongestion(7 * MSS + 700, ctx) // a flight with a short segment: still whole segments
    expect(cc.ssthresh).toBe(3 * MSS)
    cc.onRto(9 * MSS, true, ctx)
    expect(cc.ssthresh).toBe(4 * MSS)
  })

  it('collapses to the loss window, one segment, on a timeout; a second timeout keeps ssthresh', () => {
    const cc = new NewReno(MSS)
    cc.init(MSS, false)
    cc.onRto(30 * MSS, true, ctx)
    expect(cc.cwnd).toBe(MSS)
    expect(cc.ssthresh).toBe(15 * MSS)
    cc.onRto(MSS, false, ctx) // the same segment timed out again: ssthresh stays (RFC 5681 3.1)
    expect(cc.ssthresh).toBe(15 * MSS)
    expect(cc.cwnd).toBe(MSS)
  })

  it('restarts from at most IW after an idle period (RFC 5681 4.1)', () => {
    const cc = new NewReno(MSS)
    cc.init(MSS, false)
    roundTrip(cc)
    roundTrip(cc)
    expect(cc.cwnd).toBe(40 * MSS)
    cc.onIdleRestart(ctx)
    expect(cc.cwnd).toBe(10 * MSS)
  })
})
