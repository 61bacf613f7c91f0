// BBR v1's long-term bandwidth sampling (Linux's bbr_lt_bw_sampling, tcp_bbr.c): finding a
// token-bucket policer. A policer passes its rate and drops the rest without queueing, so
// the delivery rate of a short burst (what BtlBw's max filter keeps) is above what the path
// sustains, and BBR pacing at it loses the difference on every round. Two intervals in a row,
// each from one loss to another over 4 to 16 rounds, with 20% or more of their data lost and
// the same delivery rate (within 1/8 or 4 kbit/s), say a policer: BBR then paces at that
// rate, without ProbeBW's 1.25 probes, for 48 rounds, and starts sampling over.
//
//   interval   starts at a loss; an app-limited sample or more than 16 rounds throws it away
//   ends       at a loss once 4 rounds have passed, if lost / delivered >= 50/256
//   policed    its rate is within 1/8 (or 4 kbit/s) of the interval before: use their mean

/** Rounds an interval lasts at least (bbr_lt_intvl_min_rtts). */
export const LT_MIN_ROUNDS = 4
/** Lost / delivered over the interval that says "policed" (bbr_lt_loss_thresh, 50 in 256). */
export const LT_LOSS_THRESH = 50 / 256
/** Two intervals' rates agree within this fraction (bbr_lt_bw_ratio, BBR_UNIT / 8)... */
export const LT_BW_RATIO = 1 / 8
/** ...or within 4 kbit/s, in bytes per ms (bbr_lt_bw_diff, 4000 / 8 bytes per second). */
export const LT_BW_DIFF = 4000 / 8 / 1000
/** Rounds the policed rate is used before sampling starts over (bbr_lt_bw_max_rtts). */
export const LT_MAX_ROUNDS = 48

/** What one ACK (or an RTO) tells the sampler. `delivered` and `lost` are the connection's totals, bytes. */
export interface LtSample {
  now: number
  roundStart: boolean
  appLimited: boolean
  /** This ACK marked something lost (Linux's rs->losses > 0). */
  losses: boolean
  delivered: number
  lost: number
}

export class LongTermBandwidth {
  /** The policed rate is in use (Linux's lt_use_bw). */
  inUse = false
  /** The rate of the last interval, or the policed rate while in use: bytes per ms, 0 for none (lt_bw). */
  bw = 0
  /** An interval is being measured (it began at a loss). */
  private sampling = false
  private rounds = 0
  private startStamp = 0
  private startDelivered = 0
  private startLost = 0

  /**
   * One sample (bbr_lt_bw_sampling). `probeBw`: BBR is in ProbeBW. Returns true when the
   * policed rate has been used for its 48 rounds and was dropped: ProbeBW starts over.
   */
  onSample(s: LtSample, probeBw: boolean): boolean {
    if (this.inUse) {
      if (probeBw && s.roundStart && ++this.rounds >= LT_MAX_ROUNDS) {
        this.reset(s)
        return true
      }
      return false
    }
    // An interval starts at a loss: a policer shows itself by dropping.
    if (!this.sampling) {
      if (!s.losses) return false
      this.startInterval(s)
      this.sampling = true
    }
    // Sending less than the path takes says nothing of a policer's rate.
    if (s.appLimited) {
      this.reset(s)
      return false
    }
    if (s.roundStart) this.rounds++
    if (this.rounds < LT_MIN_ROUNDS) return false
    if (this.rounds > 4 * LT_MIN_ROUNDS) {
      this.reset(s) // too long: a policer's bucket would have emptied long since
      return false
    }
    // The interval ends at a loss, if enough of what it sent was lost.
    if (!s.losses) return false
    const lost = s.lost - this.startLost
    const delivered = s.delivered - this.startDelivered
    if (delivered <= 0 || lost < LT_LOSS_THRESH * delivered) return false
    const t = s.now - this.startStamp
    if (t < 1) return false
    this.intervalDone(delivered / t, s)
    return false
  }

  /** An interval's rate: the same as the last one's means a policer (bbr_lt_bw_interval_done). */
  private intervalDone(bw: number, s: LtSample): void {
    if (this.bw > 0) {
      const diff = Math.abs(bw - this.bw)
      if (diff <= LT_BW_RATIO * this.bw || diff <= LT_BW_DIFF) {
        this.bw = (bw + this.bw) / 2
        this.inUse = true
        this.rounds = 0
        return
      }
    }
    this.bw = bw
    this.startInterval(s)
  }

  private startInterval(s: LtSample): void {
    this.startStamp = s.now
    this.startDelivered = s.delivered
    this.startLost = s.lost
    this.rounds = 0
  }

  /** Forget the policer and any interval (bbr_reset_lt_bw_sampling). */
  private reset(s: LtSample): void {
    this.bw = 0
    this.inUse = false
    this.sampling = false
    this.startInterval(s)
  }
}
