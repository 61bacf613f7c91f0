// CUBIC (RFC 9438), Linux's default. After a loss the window follows a cubic
// curve of the time since that loss, W_cubic(t) = C*(t-K)^3 + W_max: fast at
// first, flat around the window where the loss happened (W_max), then faster
// again while probing beyond it. The multiplicative decrease is 0.7, not 0.5.
// Slow start, fast retransmit and the timeout's loss window are RFC 5681's, as
// in NewReno. Windows below are counted in segments, as the RFC counts them.

import {
  INITIAL_SSTHRESH, initialWindow, slowStart,
  type CongestionContext, type CongestionControl,
} from './types.js'

/** RFC 9438 5: C, in segments per second cubed. */
export const CUBIC_C = 0.4
/** RFC 9438 4.6: beta_cubic, the multiplicative decrease factor. */
export const CUBIC_BETA = 0.7
/** RFC 9438 4.3: alpha_cubic = 3 (1 - beta) / (1 + beta), so the Reno estimate grows as fast as AIMD(1, 0.5) on average. */
const ALPHA_CUBIC = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA)

export class Cubic implements CongestionControl {
  readonly name = 'cubic'
  cwnd: number
  ssthresh = INITIAL_SSTHRESH
  /** Fast convergence (RFC 9438 4.7): on by default, as in Linux. */
  fastConvergence = true

  /** W_max: the window (segments) just before the last reduction; 0 before any. */
  wMax = 0
  /** cwnd_prior (segments): the window when ssthresh was last set; alpha becomes 1 once W_est passes it (4.3). */
  private cwndPrior = 0
  /** K (seconds): when W_cubic reaches W_max again (RFC 9438 eq. 2). */
  k = 0
  /** t_epoch (ms): when the current congestion avoidance stage began; null outside one. */
  epochStart: number | null = null
  /** cwnd_epoch (segments): the window at t_epoch. */
  private cwndEpoch = 0
  /** W_est (segments): what Reno would have by now, for the Reno-friendly region (4.3). */
  wEst = 0
  /** The last reduction was a timeout: the next stage uses K = 0 and W_max = cwnd_epoch (4.8). */
  private afterTimeout = false
  /** W_max and cwnd_prior as they were before the last reduction, should it be undone (onUndo). */
  private beforeReduction = { wMax: 0, cwndPrior: 0 }

  constructor(mss: number) {
    this.cwnd = initialWindow(mss)
  }

  init(mss: number, synLost: boolean): void {
    this.cwnd = synLost ? mss : initialWindow(mss)
  }

  /** RFC 9438 eq. (1): the cubic window, in segments, `t` seconds into the stage. */
  wCubic(t: number): number {
    return CUBIC_C * (t - this.k) ** 3 + this.wMax
  }

  onAck(bytesAcked: number, ctx: CongestionContext): void {
    const left = slowStart(this, bytesAcked)
    if (left === 0) return
    const mss = ctx.mss
    let cwnd = this.cwnd / mss
    if (this.epochStart === null) this.startEpoch(cwnd, ctx.now)
    const t = (ctx.now - this.epochStart!) / 1000
    const rtt = (ctx.srtt ?? 0) / 1000
    const acked = left / mss
    // 4.3: the Reno-friendly estimate grows by alpha per window of segments acknowledged.
    const alpha = this.wEst >= this.cwndPrior ? 1 : ALPHA_CUBIC
    this.wEst += (alpha * acked) / cwnd
    if (this.wCubic(t) < this.wEst) {
      cwnd = this.wEst // 4.3: Reno-friendly region
    } else {
      // 4.4, 4.5: concave and convex regions aim at W_cubic one RTT ahead, bounded to [cwnd, 1.5 cwnd] (4.2).
      const target = Math.min(Math.max(this.wCubic(t + rtt), cwnd), 1.5 * cwnd)
      cwnd += ((target - cwnd) / cwnd) * acked
    }
    this.cwnd = cwnd * mss
  }

  /** 4.2: a congestion avoidance stage begins: t_epoch, cwnd_epoch, K and W_est. */
  private startEpoch(cwnd: number, now: number): void {
    this.epochStart = now
    this.cwndEpoch = cwnd
    this.wEst = cwnd
    // 4.8: after a timeout (or before any loss) the curve is flat right here: W_max = cwnd_epoch, K = 0.
    if (this.afterTimeout || this.wMax === 0) this.wMax = cwnd
    this.afterTimeout = false
    // Eq. (2); negative when the stage starts above W_max: the curve is then already convex.
    this.k = Math.cbrt((this.wMax - this.cwndEpoch) / CUBIC_C)
  }

  /** 4.6 and 4.7: the reduction on a loss, with fast convergence. */
  private reduce(flightSize: number, mss: number): void {
    const cwnd = this.cwnd / mss
    this.beforeReduction = { wMax: this.wMax, cwndPrior: this.cwndPrior }
    // 4.7: a window that shrank since the last loss means a new flow is competing: give way.
    this.wMax = this.fastConvergence && cwnd < this.wMax ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd
    this.cwndPrior = cwnd
    this.ssthresh = Math.max(Math.floor(flightSize * CUBIC_BETA), 2 * mss)
    this.epochStart = null
  }

  onCongestion(flightSize: number, ctx: CongestionContext): void {
    this.reduce(flightSize, ctx.mss)
    this.cwnd = this.ssthresh
  }

  onRto(flightSize: number, first: boolean, ctx: CongestionContext): void {
    // 4.8: as RFC 5681 (cwnd to one segment), with ssthresh from beta_cubic.
    if (first) this.reduce(flightSize, ctx.mss)
    this.afterTimeout = true
    this.epochStart = null
    this.cwnd = ctx.mss
  }

  onIdleRestart(ctx: CongestionContext): void {
    this.cwnd = Math.min(this.cwnd, initialWindow(ctx.mss)) // RFC 5681 4.1
    this.epochStart = null // the curve restarts from here rather than leaping over the idle time
  }

  /** The reduction was spurious: W_max as before it (the loss never happened), and a new stage from this cwnd. */
  onUndo(cwnd: number, ssthresh: number): void {
    this.cwnd = cwnd
    this.ssthresh = ssthresh
    this.wMax = this.beforeReduction.wMax
    this.cwndPrior = this.beforeReduction.cwndPrior
    this.epochStart = null
  }
}
