// What `Stack.connections()` and `tuntcp ss` report of one connection: a TCB or a
// compact TIME-WAIT entry seen as one row, like a line of `ss -tan` (and `ss -ti`).

import { rcvMssEstimate } from './tcp-info.js'
import { INITIAL_SSTHRESH, type CongestionControlName } from './tcp/congestion/index.js'
import type { State } from './tcp/state.js'
import type { Tcb } from './tcp/tcb.js'
import type { Connection } from './tcp/tcp-layer.js'
import { TimeWait } from './tcp/time-wait.js'
import type { Timer } from './time/timer-wheel.js'
import { addressText, familyOf } from './wire/address.js'

/** One row of `connections()`, like a line of `ss -tan`. */
export interface ConnectionInfo {
  state: State
  localAddress: string
  localPort: number
  remoteAddress: string
  remotePort: number
  /** Bytes written and not yet acknowledged. */
  sendQueue: number
  /** Bytes received and not yet read by the application. */
  recvQueue: number
  /** The connection's main armed timer, as `ss -o` shows it, first of: on (retransmission), persist, timewait or fin-wait-2, keepalive. */
  timer: { name: 'on' | 'persist' | 'keepalive' | 'timewait' | 'fin-wait-2'; leftMs: number } | null
  /** Retransmissions of the current segment (RFC 6298 backoff count). */
  retransmits: number
  /** Segments retransmitted over the connection's life (timeouts, fast retransmits, probes). */
  totalRetransmits: number
  /** What the SYNs negotiated, as `ss -ti` prints it: window scale shifts (peer's, ours), timestamps, SACK, ECN (RFC 3168). */
  options: { wscale: { snd: number; rcv: number } | null; timestamps: boolean; sack: boolean; ecn: boolean }
  /** Largest data per segment we send (SND.MSS, less the timestamps option when on). */
  mss: number
  /** Smoothed RTT (ms, RFC 6298 SRTT), undefined before the first sample. */
  rttMs: number | undefined
  /** RTT variation (ms, RFC 6298 RTTVAR), undefined before the first sample. */
  rttvarMs: number | undefined
  /** The retransmission timeout the next timer gets (ms, RFC 6298, backoff included); 0 in TIME-WAIT. */
  rtoMs: number
  /** The congestion control algorithm (RFC 5681, RFC 9438); null in TIME-WAIT. */
  congestionControl: CongestionControlName | null
  /** cwnd (bytes, RFC 5681 2): how much may be in flight. */
  cwnd: number
  /** ssthresh (bytes, RFC 5681 3.1); null while it is still "arbitrarily high" (no loss yet). */
  ssthresh: number | null
  /** Data bytes the peer acknowledged, and data bytes received in order (no SYN, no FIN; past 2^32 too). */
  bytesAcked: number
  bytesReceived: number
  /** Bytes the peer has SACKed above SND.UNA (the scoreboard, RFC 6675). */
  sackedBytes: number
  /** The path MTU (RFC 1191) and the peer's MSS as its segments show it (Linux's rcv_mss); 0 in TIME-WAIT. */
  pmtu: number
  rcvMss: number
  /** Segments sent and received over the connection's life; 0 in TIME-WAIT. */
  segsOut: number
  segsIn: number
  /** Segments delivered to the peer, newly ACKed or SACKed (Linux's tp->delivered, tcp/delivered.ts); 0 in TIME-WAIT. */
  delivered: number
  /** The smallest recent RTT sample (ms), undefined before the first. */
  minRttMs: number | undefined
}

/** One connection as a row of `Stack.connections()`. */
export function connectionInfo(conn: Connection): ConnectionInfo {
  return conn instanceof TimeWait ? timeWaitInfo(conn) : tcbInfo(conn)
}

/** A TIME-WAIT entry keeps only the 4-tuple and its timer: no queues, no RTT, no window, no byte counts, no options but timestamps. */
function timeWaitInfo(tw: TimeWait): ConnectionInfo {
  return {
    state: tw.state,
    localAddress: addressText(tw.localAddr),
    localPort: tw.localPort,
    remoteAddress: addressText(tw.remoteAddr),
    remotePort: tw.remotePort,
    sendQueue: 0,
    recvQueue: tw.user?.readBuffered() ?? 0,
    timer: tw.armed ? { name: 'timewait', leftMs: Math.max(0, tw.expiresAt - tw.host.clock.now()) } : null,
    retransmits: 0,
    totalRetransmits: 0,
    options: { wscale: null, timestamps: tw.tsRecent !== null, sack: false, ecn: false },
    mss: 0,
    rttMs: undefined,
    rttvarMs: undefined,
    rtoMs: 0,
    congestionControl: null,
    cwnd: 0,
    ssthresh: null,
    bytesAcked: 0,
    bytesReceived: 0,
    sackedBytes: 0,
    pmtu: 0,
    rcvMss: 0,
    segsOut: 0,
    segsIn: 0,
    delivered: 0,
    minRttMs: undefined,
  }
}

function tcbInfo(tcb: Tcb): ConnectionInfo {
  return {
    state: tcb.state,
    localAddress: addressText(tcb.localAddr),
    localPort: tcb.localPort,
    remoteAddress: addressText(tcb.remoteAddr),
    remotePort: tcb.remotePort,
    sendQueue: tcb.sendBuffer.length,
    recvQueue: (tcb.user?.readBuffered() ?? 0) + tcb.reassembly.bytes,
    timer: activeTimer(tcb),
    retransmits: tcb.retries,
    totalRetransmits: tcb.totalRetransmits,
    options: {
      wscale: tcb.wsOk ? { snd: tcb.sndWndScale, rcv: tcb.rcvWndScale } : null,
      timestamps: tcb.tsOk,
      sack: tcb.sackOk,
      ecn: tcb.ecnOk,
    },
    mss: tcb.sndMss,
    rttMs: tcb.rtt.srtt,
    rttvarMs: tcb.rtt.srtt === undefined ? undefined : tcb.rtt.rttvar,
    rtoMs: tcb.rtt.rto,
    congestionControl: tcb.cc.name,
    cwnd: tcb.cc.cwnd,
    ssthresh: tcb.cc.ssthresh >= INITIAL_SSTHRESH ? null : tcb.cc.ssthresh,
    bytesAcked: tcb.bytesAcked,
    bytesReceived: tcb.bytesReceived,
    sackedBytes: tcb.scoreboard.sackedBytes,
    pmtu: tcb.pmtu,
    rcvMss: rcvMssEstimate(tcb),
    segsOut: tcb.segsOut,
    segsIn: tcb.segsIn,
    delivered: tcb.delivered,
    minRttMs: Number.isFinite(tcb.minRtt) ? tcb.minRtt : undefined,
  }
}

function activeTimer(tcb: Tcb): ConnectionInfo['timer'] {
  const left = (t: Timer) => Math.max(0, t.expiresAt - tcb.host.clock.now())
  if (tcb.retransmitTimer.armed) return { name: 'on', leftMs: left(tcb.retransmitTimer) }
  if (tcb.persistTimer.armed) return { name: 'persist', leftMs: left(tcb.persistTimer) }
  if (tcb.closeTimer.armed) return { name: tcb.state === 'TIME-WAIT' ? 'timewait' : 'fin-wait-2', leftMs: left(tcb.closeTimer) }
  if (tcb.keepaliveTimer.armed) return { name: 'keepalive', leftMs: left(tcb.keepaliveTimer) }
  return null
}
