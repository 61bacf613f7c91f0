// BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00; Linux's tcp_bbr.c): congestion
// control from a model of the path rather than from losses. Two numbers make the model:
// BtlBw, the bottleneck bandwidth, the highest delivery rate of the last 10 rounds (rate.ts
// gives a sample per ACK), and RTprop, the round-trip propagation time, the lowest RTT of
// the last 10 s. The sender paces at gain x BtlBw and keeps cwnd at 2 x BtlBw x RTprop (the
// bandwidth-delay product, BDP, twice over for delayed and aggregated ACKs). A loss alone
// does not shrink the model, which is why BBR keeps its rate where 5% random loss caps
// every loss-based sender (docs/congestion-control.md).
//
//   Startup   pacing and cwnd gain 2/ln2: the rate doubles each round, until three rounds
//             in a row fail to raise BtlBw by 25% (the pipe is full)
//   Drain     pacing gain ln2/2: empty the queue Startup built, until inflight <= BDP
//   ProbeBW   pacing gain cycles 1.25, 0.75, 1, 1, 1, 1, 1, 1, one RTprop each: probe for
//             more bandwidth, drain what the probe queued, cruise
//   ProbeRTT  RTprop not renewed for 10 s: cwnd 4 segments for 200 ms and a round, so the
//             queue empties and the true RTprop shows
//
// A token-bucket policer on the path shows as heavy loss at one delivery rate, interval
// after interval: BBR then paces at that rate instead of BtlBw (bbr-policer.ts).
//
// Every cwnd and rate here is in bytes (bytes per ms for BtlBw), where tcp_bbr.c counts packets.

import { LongTermBandwidth, type LtSample } from './bbr-policer.js'
import type { AckContext, CongestionContext, CongestionControl } from './types.js'
import { INITIAL_SSTHRESH, initialWindow } from './types.js'

/** 2/ln(2): the smallest gain that doubles the delivery rate each round (tcp_bbr.c's bbr_high_gain, 2885/1000). */
export const BBR_HIGH_GAIN = 2885 / 1000
/** The inverse, to drain Startup's queue in one round (bbr_drain_gain). */
export const BBR_DRAIN_GAIN = 1000 / 2885
/** cwnd is twice the BDP in ProbeBW (bbr_cwnd_gain). */
export const BBR_CWND_GAIN = 2
/** ProbeBW's pacing gains, one phase per RTprop (bbr_pacing_gain). */
export const BBR_PACING_GAINS: readonly number[] = [1.25, 0.75, 1, 1, 1, 1, 1, 1]
/** BtlBw is the max over this many rounds (bbr_bw_rtts: the gain cycle plus 2). */
export const BBR_BW_ROUNDS = BBR_PACING_GAINS.length + 2
/** RTprop is the min over this long (bbr_min_rtt_win_sec), ms. */
export const BBR_MIN_RTT_WINDOW_MS = 10_000
/** ProbeRTT lasts at least this long (bbr_probe_rtt_mode_ms), ms. */
export const BBR_PROBE_RTT_MS = 200
/** cwnd in ProbeRTT and never below, in segments (bbr_cwnd_min_target). */
export const BBR_MIN_CWND_SEGMENTS = 4
/** Startup ends after this many rounds without BtlBw growing by BBR_FULL_BW_GROWTH (bbr_full_bw_cnt, bbr_full_bw_thresh). */
const FULL_BW_ROUNDS = 3
const FULL_BW_GROWTH = 1.25
/** Pace 1% below the estimate, so the bottleneck queue drains rather than grows (bbr_pacing_margin_percent). */
const PACING_MARGIN = 0.99

export type BbrMode = 'startup' | 'drain' | 'probe-bw' | 'probe-rtt'

export class Bbr implements CongestionControl {
  readonly name = 'bbr'
  cwnd: number
  /** BBR keeps no ssthresh of its own: Linux's stays at "infinity", and so does this one. */
  ssthresh = INITIAL_SSTHRESH
  mode: BbrMode = 'startup'
  /** The pacing rate, bytes per second. */
  pacingRate: number
  pacingGain = BBR_HIGH_GAIN
  cwndGain = BBR_HIGH_GAIN

  /** BtlBw's filter: the highest delivery rate (bytes/ms) of each of the last rounds, newest last. */
  private bwByRound: { round: number; bw: number }[] = []
  /** RTprop (ms), Infinity before the first sample, and when it was taken. */
  minRtt = Infinity
  private minRttStamp = 0

  /** Round counting by delivery: a round ends when a segment sent after its start is delivered. */
  rounds = 0
  private nextRoundDelivered = 0
  private roundStart = false

  /** Startup's end: the BtlBw of the last growth, and rounds since it. */
  fullBwReached = false
  private fullBw = 0
  private fullBwCount = 0

  /** ProbeBW: the phase of the gain cycle and when it began (ms). */
  cycleIndex = 0
  private cycleStamp = 0

  /** ProbeRTT: when it may end (ms; 0 before inflight fell to the minimum), and whether a round has passed since. */
  private probeRttDoneStamp = 0
  private probeRttRoundDone = false

  /** Loss response: the cwnd before the recovery or RTO, restored after it; packet conservation for the first round. */
  private priorCwnd = 0
  private packetConservation = false
  private prevLossState: AckContext['lossState'] = 'open'
  /** The connection restarts from idle: ProbeBW paces at 1 x BtlBw until data is delivered again. */
  private idleRestart = false

  /** Policer detection (bbr-policer.ts), and the totals it measures by: bytes delivered and lost (tp->delivered, tp->lost). */
  readonly longTerm = new LongTermBandwidth()
  private deliveredTotal = 0
  private lostTotal = 0

  private mss: number

  constructor(mss: number) {
    this.mss = mss
    this.cwnd = initialWindow(mss)
    this.pacingRate = 0
  }

  /** The send quantum: about 1 ms of the pacing rate, at least 2 segments, at most 64 KiB (bbr_tso_segs_goal, tcp_tso_autosize). */
  get sendQuantum(): number {
    const bytes = Math.min(this.pacingRate / 1000, 65_536)
    return Math.max(Math.floor(bytes / this.mss), 2) * this.mss
  }

  /** In ProbeRTT the sender is held to 4 segments: its samples say nothing of the path (as tcp_bbr.c's app_limited there). */
  get holdsBack(): boolean {
    return this.mode === 'probe-rtt'
  }

  /** BtlBw: the windowed max of the delivery rate, bytes per ms (0 before any sample; bbr_max_bw). */
  get btlBw(): number {
    let max = 0
    for (const s of this.bwByRound) max = Math.max(max, s.bw)
    return max
  }

  /** The rate the model sends at: a policer's once one is found, else BtlBw (bbr_bw). */
  get bw(): number {
    return this.longTerm.inUse ? this.longTerm.bw : this.btlBw
  }

  init(mss: number, synLost: boolean): void {
    this.mss = mss
    this.cwnd = synLost ? mss : initialWindow(mss)
    this.pacingRate = 0 // set from cwnd / SRTT on the first ACK (bbr_init_pacing_rate_from_rtt)
  }

  /** Not used: onAckSample does all of BBR's work (cong_control replaces cong_avoid). */
  onAck(_bytesAcked: number, _ctx: CongestionContext): void {}

  /** Fast recovery begins (Linux calls bbr_ssthresh here): remember cwnd; ssthresh stays as it is. */
  onCongestion(_flightSize: number, _ctx: CongestionContext): void {
    this.saveCwnd()
  }

  /** The RTO (bbr_set_state to TCP_CA_Loss): cwnd to one segment, as tcp_enter_loss, and Startup's growth test starts over. */
  onRto(flightSize: number, first: boolean, ctx: CongestionContext): void {
    if (first) this.saveCwnd()
    this.prevLossState = 'loss'
    this.fullBw = 0
    this.roundStart = true // an RTO ends the round, as tcp_bbr.c treats it
    this.cwnd = ctx.mss
    // What was in flight is taken as lost (tcp_timeout_mark_lost), and the policer sampler
    // hears of a loss (bbr_set_state's rate sample of one loss).
    this.lostTotal += flightSize
    this.sampleLongTerm({ now: ctx.now, roundStart: true, appLimited: false, losses: true, delivered: this.deliveredTotal, lost: this.lostTotal })
  }

  /** Idle for longer than the RTO (CA_EVENT_TX_START while app-limited): no burst, pace at BtlBw. */
  onIdleRestart(_ctx: CongestionContext): void {
    this.idleRestart = true
    if (this.mode === 'probe-bw') this.setPacingRate(this.bw, 1)
  }

  /** A spurious recovery undone (bbr_undo_cwnd): cwnd is BBR's own, but Startup's growth test starts over. */
  onUndo(_cwnd: number, _ssthresh: number): void {
    this.fullBw = 0
    this.fullBwCount = 0
  }

  /** Every ACK (bbr_main): update the model, then the pacing rate and cwnd from it. */
  onAckSample(ack: AckContext): void {
    this.mss = ack.mss
    this.deliveredTotal = ack.totalDelivered
    this.lostTotal += ack.lost
    if (this.pacingRate === 0 && ack.srtt !== undefined) this.setPacingRate(this.cwnd / Math.max(ack.srtt, 1), BBR_HIGH_GAIN, true)
    this.updateBw(ack)
    this.updateCyclePhase(ack)
    this.checkFullBwReached(ack)
    this.checkDrain(ack)
    this.updateMinRtt(ack)
    if (ack.delivered > 0) this.idleRestart = false
    this.setPacingRate(this.bw, this.pacingGain)
    this.setCwnd(ack)
  }

  /** The BDP x gain, in bytes; before RTprop is known, the initial window (bbr_bdp). */
  private inflight(bw: number, gain: number): number {
    if (!Number.isFinite(this.minRtt)) return initialWindow(this.mss)
    return Math.ceil(gain * bw * this.minRtt)
  }

  /** cwnd's target: BDP x gain, plus room for the send quanta in flight and at the hosts (bbr_quantization_budget). */
  private target(bw: number, gain: number): number {
    let w = this.inflight(bw, gain) + 3 * this.sendQuantum
    w = Math.ceil(w / this.mss) * this.mss
    if (this.mode === 'probe-bw' && this.cycleIndex === 0) w += 2 * this.mss // room to probe
    return w
  }

  /** Pacing rate = gain x bw, 1% under; in Startup it only rises (bbr_set_pacing_rate). `bw` in bytes/ms. */
  private setPacingRate(bw: number, gain: number, force = false): void {
    const rate = bw * gain * PACING_MARGIN * 1000
    if (force || this.fullBwReached || rate > this.pacingRate) this.pacingRate = rate
  }

  /** Round counting and BtlBw's max filter (bbr_update_bw). */
  private updateBw(ack: AckContext): void {
    this.roundStart = false
    const rs = ack.sample
    if (rs === null) return
    if (rs.priorDelivered >= this.nextRoundDelivered) {
      this.nextRoundDelivered = ack.totalDelivered
      this.rounds++
      this.roundStart = true
      this.packetConservation = false
    }
    this.sampleLongTerm({ now: ack.now, roundStart: this.roundStart, appLimited: rs.appLimited, losses: ack.lost > 0, delivered: ack.totalDelivered, lost: this.lostTotal })
    // An app-limited sample is taken only when it shows more than BtlBw: it cannot show less than the path can do.
    if (rs.appLimited && rs.rate < this.btlBw) return
    const last = this.bwByRound[this.bwByRound.length - 1]
    if (last !== undefined && last.round === this.rounds) last.bw = Math.max(last.bw, rs.rate)
    else this.bwByRound.push({ round: this.rounds, bw: rs.rate })
    while (this.bwByRound.length > 0 && this.bwByRound[0]!.round <= this.rounds - BBR_BW_ROUNDS) this.bwByRound.shift()
  }

  /** The policer sampler; with a policer found, ProbeBW cruises at gain 1 (bbr_update_gains), and after its 48 rounds starts over. */
  private sampleLongTerm(s: LtSample): void {
    if (this.longTerm.onSample(s, this.mode === 'probe-bw')) this.enterProbeBw(s.now)
    else if (this.longTerm.inUse && this.mode === 'probe-bw') this.pacingGain = 1
  }

  /** ProbeBW: the next phase after one RTprop, sooner or later by what is in flight (bbr_is_next_cycle_phase). */
  private updateCyclePhase(ack: AckContext): void {
    if (this.mode !== 'probe-bw') return
    const fullLength = ack.now - this.cycleStamp > this.minRtt
    let next: boolean
    if (this.pacingGain === 1) next = fullLength
    // Probing: until the queue it builds shows (inflight reaches 1.25 BDP) or a loss says the link is full.
    else if (this.pacingGain > 1) next = fullLength && (ack.lost > 0 || ack.inFlight + ack.delivered >= this.inflight(this.bw, this.pacingGain))
    // Draining: until inflight is down to one BDP, or one RTprop.
    else next = fullLength || ack.inFlight <= this.inflight(this.bw, 1)
    if (next) this.advanceCycle(ack.now)
  }

  private advanceCycle(now: number): void {
    this.cycleIndex = (this.cycleIndex + 1) % BBR_PACING_GAINS.length
    this.cycleStamp = now
    this.pacingGain = this.longTerm.inUse || (this.idleRestart && this.cycleIndex === 0) ? 1 : BBR_PACING_GAINS[this.cycleIndex]!
  }

  /** Startup's end: BtlBw grew by less than 25% three rounds running (bbr_check_full_bw_reached). */
  private checkFullBwReached(ack: AckContext): void {
    if (this.fullBwReached || !this.roundStart || ack.sample === null || ack.sample.appLimited) return
    const bw = this.btlBw
    if (bw >= this.fullBw * FULL_BW_GROWTH) {
      this.fullBw = bw
      this.fullBwCount = 0
      return
    }
    this.fullBwReached = ++this.fullBwCount >= FULL_BW_ROUNDS
  }

  /** Startup -> Drain once the pipe is full; Drain -> ProbeBW once inflight is down to the BDP (bbr_check_drain). */
  private checkDrain(ack: AckContext): void {
    if (this.mode === 'startup' && this.fullBwReached) {
      this.mode = 'drain'
      this.pacingGain = BBR_DRAIN_GAIN
      this.cwndGain = BBR_HIGH_GAIN
    }
    if (this.mode === 'drain' && ack.inFlight <= this.inflight(this.btlBw, 1)) this.enterProbeBw(ack.now)
  }

  /**
   * ProbeBW starts at a phase other than the probe's (0.75's one after it excluded too), as
   * tcp_bbr.c picks one at random; here from the round count, since congestion control has
   * no random source of its own.
   */
  private enterProbeBw(now: number): void {
    this.mode = 'probe-bw'
    this.pacingGain = 1
    this.cwndGain = BBR_CWND_GAIN
    this.cycleIndex = BBR_PACING_GAINS.length - 1 - (this.rounds % (BBR_PACING_GAINS.length - 1))
    this.advanceCycle(now)
  }

  /** RTprop's min filter, and ProbeRTT when it has not been renewed for 10 s (bbr_update_min_rtt). */
  private updateMinRtt(ack: AckContext): void {
    const rs = ack.sample
    const expired = ack.now > this.minRttStamp + BBR_MIN_RTT_WINDOW_MS
    if (rs !== null && rs.rtt >= 0 && (rs.rtt < this.minRtt || expired)) {
      this.minRtt = rs.rtt
      this.minRttStamp = ack.now
    }
    if (expired && !this.idleRestart && this.mode !== 'probe-rtt') {
      this.mode = 'probe-rtt'
      this.pacingGain = 1
      this.cwndGain = 1
      this.saveCwnd()
      this.probeRttDoneStamp = 0
    }
    if (this.mode !== 'probe-rtt') return
    const minCwnd = BBR_MIN_CWND_SEGMENTS * this.mss
    if (this.probeRttDoneStamp === 0 && ack.inFlight <= minCwnd) {
      // Inflight is down: hold it there for 200 ms and at least one round.
      this.probeRttDoneStamp = ack.now + BBR_PROBE_RTT_MS
      this.probeRttRoundDone = false
      this.nextRoundDelivered = ack.totalDelivered
    } else if (this.probeRttDoneStamp !== 0) {
      if (this.roundStart) this.probeRttRoundDone = true
      if (this.probeRttRoundDone && ack.now > this.probeRttDoneStamp) {
        this.minRttStamp = ack.now
        this.cwnd = Math.max(this.cwnd, this.priorCwnd)
        if (this.fullBwReached) this.enterProbeBw(ack.now)
        else {
          this.mode = 'startup'
          this.pacingGain = BBR_HIGH_GAIN
          this.cwndGain = BBR_HIGH_GAIN
        }
      }
    }
  }

  /** Remember cwnd before a loss response or ProbeRTT, to restore it after (bbr_save_cwnd). */
  private saveCwnd(): void {
    if (this.prevLossState === 'open' && this.mode !== 'probe-rtt') this.priorCwnd = this.cwnd
    else this.priorCwnd = Math.max(this.priorCwnd, this.cwnd)
  }

  /** cwnd toward gain x BDP, by what each ACK delivered; the loss response first (bbr_set_cwnd). */
  private setCwnd(ack: AckContext): void {
    const mss = this.mss
    const minCwnd = BBR_MIN_CWND_SEGMENTS * mss
    if (ack.delivered > 0 && !this.recoverOrRestore(ack)) {
      const target = this.target(this.bw, this.cwndGain)
      if (this.fullBwReached) this.cwnd = Math.min(this.cwnd + ack.delivered, target)
      else if (this.cwnd < target || ack.totalDelivered < initialWindow(mss)) this.cwnd += ack.delivered
      this.cwnd = Math.max(this.cwnd, minCwnd)
    }
    if (this.mode === 'probe-rtt') this.cwnd = Math.min(this.cwnd, minCwnd)
  }

  /**
   * The loss response (bbr_set_cwnd_to_recover_or_restore): what was lost leaves cwnd; on
   * entering fast recovery, packet conservation for one round (cwnd = inflight + what this ACK
   * delivered: one segment out per segment delivered); on leaving recovery or the RTO's loss
   * state, cwnd back to at least what it was. Returns whether conservation set cwnd.
   */
  private recoverOrRestore(ack: AckContext): boolean {
    const prev = this.prevLossState
    const state = ack.lossState
    let cwnd = this.cwnd
    if (ack.lost > 0) cwnd = Math.max(cwnd - ack.lost, this.mss)
    if (state === 'recovery' && prev !== 'recovery') {
      this.packetConservation = true
      this.nextRoundDelivered = ack.totalDelivered // the round starts now
      cwnd = ack.inFlight + ack.delivered
    } else if (prev !== 'open' && state === 'open') {
      cwnd = Math.max(cwnd, this.priorCwnd)
      this.packetConservation = false
    }
    this.prevLossState = state
    if (this.packetConservation) {
      this.cwnd = Math.max(cwnd, ack.inFlight + ack.delivered)
      return true
    }
    this.cwnd = cwnd
    return false
  }
}
