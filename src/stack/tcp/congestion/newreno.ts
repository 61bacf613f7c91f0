// NewReno's window (RFC 5681 3.1 and 3.2; the recovery itself, RFC 6582's
// partial ACKs and `recover`, is in ../recovery/): slow start doubles
// cwnd each round trip up to ssthresh, congestion avoidance adds one SMSS per
// round trip, a loss halves the flight, a timeout falls back to one segment.

import {
  INITIAL_SSTHRESH, initialWindow, slowStart,
  type CongestionContext, type CongestionControl,
} from './types.js'

export class NewReno implements CongestionControl {
  readonly name = 'newreno'
  cwnd: number
  ssthresh = INITIAL_SSTHRESH
  /** Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 3465 2.1, byte counting). */
  private bytesAcked = 0
  private mss: number

  constructor(mss: number) {
    this.mss = mss
    this.cwnd = initialWindow(mss)
  }

  init(mss: number, synLost: boolean): void {
    this.mss = mss
    // RFC 5681 3.1: after a lost SYN or SYN,ACK the initial window is one segment.
    this.cwnd = synLost ? mss : initialWindow(mss)
  }

  onAck(bytesAcked: number, ctx: CongestionContext): void {
    const left = slowStart(this, bytesAcked)
    if (left === 0) return
    // Congestion avoidance (RFC 5681 3.1): one SMSS per cwnd's worth of bytes
    // acknowledged, i.e. one SMSS per round trip, however the ACKs are spaced.
    this.bytesAcked += left
    while (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd
      this.cwnd += ctx.mss
    }
  }

  onCongestion(flightSize: number, ctx: CongestionContext): void {
    this.ssthresh = halfFlight(flightSize, ctx.mss) // RFC 5681 eq. (4)
    this.cwnd = this.ssthresh
    this.bytesAcked = 0
  }

  onRto(flightSize: number, first: boolean, ctx: CongestionContext): void {
    if (first) this.ssthresh = halfFlight(flightSize, ctx.mss)
    this.cwnd = ctx.mss // the loss window, LW (RFC 5681 3.1)
    this.bytesAcked = 0
  }

  onIdleRestart(ctx: CongestionContext): void {
    this.cwnd = Math.min(this.cwnd, initialWindow(ctx.mss)) // RW = min(IW, cwnd), RFC 5681 4.1
  }

  onUndo(cwnd: number, ssthresh: number): void {
    this.cwnd = cwnd
    this.ssthresh = ssthresh
    this.bytesAcked = 0
  }
}

/**
 * RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS), in whole segments (rounded down),
 * as Linux's Reno counts in packets (tcp_reno_ssthresh: cwnd >> 1). Half an odd flight would
 * leave half a segment of cwnd that no full segment can use, and congestion avoidance, which
 * adds one SMSS per cwnd of bytes acknowledged, would then take 3.5 segments' ACKs to go from
 * the 3 segments in flight to 4, not 3 (bench/lossy-sim.ts, 20 seeds: +4% goodput at 5% loss).
 */
function halfFlight(flightSize: number, mss: number): number {
  return Math.max(Math.floor(flightSize / 2 / mss) * mss, 2 * mss)
}
