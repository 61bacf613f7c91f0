// The congestion control interface: what an algorithm (NewReno, CUBIC, BBR) decides,
// and the parts every algorithm shares. An algorithm owns two numbers, cwnd and
// ssthresh (RFC 5681 2), and answers five events. It never sends anything and
// never sees a segment: recovery/ detects losses and resends, send.ts
// sends at most min(cwnd, SND.WND) beyond SND.UNA. The shape follows smoltcp's
// congestion controller and Linux's tcp_congestion_ops (ssthresh, cong_avoid).
// A model-based algorithm (BBR) also has onAckSample, Linux's cong_control: it sees every
// ACK with its delivery rate sample (rate.ts) and alone sets cwnd and the pacing rate.

import type { RateSample } from './rate.js'

/** The algorithms there are: CUBIC is the default, as on Linux; BBR (v1) is opt-in. */
export type CongestionControlName = 'newreno' | 'cubic' | 'bbr'

export const CONGESTION_CONTROLS: readonly CongestionControlName[] = ['newreno', 'cubic', 'bbr']

/** What an algorithm may need to know beside the bytes acknowledged. */
export interface CongestionContext {
  /** The clock, in milliseconds. */
  now: number
  /** SMSS: the sender's maximum segment size (RFC 5681 2). */
  mss: number
  /** The smoothed round-trip time in ms (RFC 6298 SRTT), undefined before the first sample. */
  srtt: number | undefined
}

/** What a model-based algorithm sees of every ACK (Linux's cong_control and its rate_sample). */
export interface AckContext extends CongestionContext {
  /** The loss state after the ACK (Linux's icsk_ca_state): fast recovery, or after an RTO. */
  lossState: 'open' | 'recovery' | 'loss'
  /** Bytes in flight after the ACK (RFC 6675 pipe; Linux's tcp_packets_in_flight). */
  inFlight: number
  /** Bytes this ACK newly delivered, cumulatively or by SACK (Linux's acked_sacked). */
  delivered: number
  /** Bytes this ACK newly showed lost (Linux's rs->losses, in bytes). */
  lost: number
  /** C.delivered: bytes delivered over the whole connection (rate.ts). */
  totalDelivered: number
  /** This ACK's delivery rate sample, or null when it gives none. */
  sample: RateSample | null
}

export interface CongestionControl {
  readonly name: CongestionControlName
  /** cwnd, in bytes: the most data the sender may have in flight (RFC 5681 2). */
  cwnd: number
  /** ssthresh, in bytes: below it slow start, at or above it congestion avoidance (RFC 5681 3.1). */
  ssthresh: number
  /** The connection is established and SMSS is known: start from the initial window. */
  init(mss: number, synLost: boolean): void
  /** New data was acknowledged outside loss recovery: grow cwnd. */
  onAck(bytesAcked: number, ctx: CongestionContext): void
  /**
   * A loss was detected by duplicate ACKs or SACK (entering fast recovery): set
   * ssthresh from `flightSize` and drop cwnd to it (RFC 5681 3.2 step 2, RFC 9438 4.6).
   */
  onCongestion(flightSize: number, ctx: CongestionContext): void
  /**
   * The retransmission timer expired: cwnd falls to the loss window, one segment
   * (RFC 5681 3.1). `first`: not a retransmission of an already retransmitted
   * segment; only then is ssthresh lowered again (RFC 5681 eq. 4 note).
   */
  onRto(flightSize: number, first: boolean, ctx: CongestionContext): void
  /** Nothing was sent for longer than the RTO (RFC 5681 4.1): restart from at most the initial window. */
  onIdleRestart(ctx: CongestionContext): void
  /**
   * The last reduction was spurious (Eifel, RFC 3522 and RFC 4015): take this cwnd and
   * ssthresh (recovery/recovery-and-undo.ts chooses them) and forget what else the reduction changed.
   */
  onUndo(cwnd: number, ssthresh: number): void
  /**
   * Model-based control (BBR): every ACK, in every loss state, after loss detection. When an
   * algorithm has it, it alone sets cwnd: onAck, PRR's and the recovery's end are skipped, as
   * Linux skips tcp_cong_avoid and tcp_cwnd_reduction for an algorithm with cong_control.
   */
  onAckSample?(ack: AckContext): void
  /** Bytes per second the sender keeps to (pacing, send.ts), or undefined: no pacing. */
  readonly pacingRate?: number
  /** How many bytes the sender may send at once when pacing (Linux's tcp_tso_autosize, bbr_tso_segs_goal). */
  readonly sendQuantum?: number
  /** The algorithm itself holds the sender below the path's rate (BBR's ProbeRTT): what is in flight is app-limited (rate.ts). */
  readonly holdsBack?: boolean
}

/** Linux's "infinite" ssthresh: before the first loss, slow start has no ceiling (RFC 5681 3.1: "arbitrarily high"). */
export const INITIAL_SSTHRESH = 0x7fff_ffff

/** RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)). */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14_600))
}

/**
 * Slow start (RFC 5681 3.1): cwnd grows by the bytes each ACK acknowledges, so it
 * doubles every round trip. Counting bytes (RFC 3465, appropriate byte counting)
 * rather than ACKs keeps delayed and stretch ACKs from slowing it; like Linux,
 * there is no per-ACK limit L. Never past ssthresh: returns the bytes left over
 * for congestion avoidance.
 */
export function slowStart(cc: { cwnd: number; ssthresh: number }, bytesAcked: number): number {
  const room = Math.max(0, cc.ssthresh - cc.cwnd)
  const grow = Math.min(bytesAcked, room)
  cc.cwnd += grow
  return bytesAcked - grow
}
