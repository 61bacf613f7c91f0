// The sender's side of one connection after an ACK was processed: the numbers a
// congestion window graph plots (the Stack's 'sender' event, "sender" records of
// --trace-json). Built only while someone listens, so it costs nothing otherwise.

import type { State } from './tcp/state.js'
import type { Tcb } from './tcp/tcb.js'
import { seqDiff } from './tcp/seq.js'
import { addressText, familyOf } from './wire/address.js'

export interface SenderInfo {
  localAddress: string
  localPort: number
  remoteAddress: string
  remotePort: number
  state: State
  /** The congestion control in use ('cubic', 'newreno'). */
  congestionControl: string
  /** cwnd and ssthresh in bytes (RFC 5681 2); ssthresh starts at 0x7fffffff (no limit) until the first loss. */
  cwnd: number
  ssthresh: number
  /** RFC 6298 SRTT and RTTVAR (ms; srtt undefined before the first sample) and the RTO armed now, backoff included. */
  srtt: number | undefined
  rttvar: number
  rto: number
  /** FlightSize (RFC 5681 2): SND.NXT - SND.UNA, bytes sent and not cumulatively acknowledged. */
  flight: number
  /** Of those, bytes the peer has SACKed (RFC 6675 scoreboard). */
  sacked: number
  sndUna: number
  sndNxt: number
  /** SND.WND, the peer's window in bytes (scaled). */
  sndWnd: number
  /** 'open' (no loss), 'recovery' (fast recovery), 'loss' (after an RTO). */
  recovery: Tcb['lossState']
  /** In fast recovery, Proportional Rate Reduction's accounting in bytes (RFC 6937 3): prr_delivered, prr_out, RecoverFS and the last ACK's sndcnt. */
  prr?: { delivered: number; out: number; recoverFs: number; sndcnt: number }
}

export function senderInfo(tcb: Tcb): SenderInfo {
  return {
    localAddress: addressText(tcb.localAddr),
    localPort: tcb.localPort,
    remoteAddress: addressText(tcb.remoteAddr),
    remotePort: tcb.remotePort,
    state: tcb.state,
    congestionControl: tcb.cc.name,
    cwnd: tcb.cc.cwnd,
    ssthresh: tcb.cc.ssthresh,
    srtt: tcb.rtt.srtt,
    rttvar: tcb.rtt.rttvar,
    rto: tcb.rtt.rto,
    flight: Math.max(0, seqDiff(tcb.sndNxt, tcb.sndUna)),
    sacked: tcb.scoreboard.sackedBytes,
    sndUna: tcb.sndUna,
    sndNxt: tcb.sndNxt,
    sndWnd: tcb.sndWnd,
    recovery: tcb.lossState,
    ...(tcb.lossState === 'recovery' ? { prr: { delivered: tcb.prr.delivered, out: tcb.prr.out, recoverFs: tcb.prr.recoverFs, sndcnt: tcb.prr.sndcnt } } : {}),
  }
}
