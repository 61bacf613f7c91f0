// TCP_INFO: a connection as Linux's getsockopt(TCP_INFO) shows it (struct tcp_info
// in include/uapi/linux/tcp.h, filled by tcp_get_info() in net/ipv4/tcp.c), for the
// fields tuntcp has. Names are Linux's without the `tcpi_` prefix, units are Linux's:
// microseconds for rto, ato, rtt and rttvar; milliseconds for the last_* ages;
// segments for cwnd, ssthresh, unacked, sacked, lost and retrans; bytes for the rest.
// A field Linux has and tuntcp does not keep (rcv_space, pacing_rate,
// ...) is left out rather than faked; docs/api.md lists what is here.

import { INITIAL_SSTHRESH } from './tcp/congestion/index.js'
import { seqAdd, seqDiff, seqGe, seqLt } from './tcp/seq.js'
import type { State } from './tcp/state.js'
import type { Tcb } from './tcp/tcb.js'
import type { SentSegment } from './tcp/recovery/sent.js'
import { segmentsOf } from './tcp/delivered.js'

/** Linux's socket states (include/net/tcp_states.h), as tcpi_state shows them. */
export const LINUX_TCP_STATES: Readonly<Record<State, number>> = {
  'ESTABLISHED': 1,
  'SYN-SENT': 2,
  'SYN-RECEIVED': 3,
  'FIN-WAIT-1': 4,
  'FIN-WAIT-2': 5,
  'TIME-WAIT': 6,
  'CLOSED': 7,
  'CLOSE-WAIT': 8,
  'LAST-ACK': 9,
  'LISTEN': 10,
  'CLOSING': 11,
}

/** Linux's congestion avoidance states (enum tcp_ca_state), as tcpi_ca_state shows them. */
export const TCP_CA = { Open: 0, Disorder: 1, CWR: 2, Recovery: 3, Loss: 4 } as const

/** The bits of tcpi_options. */
export const TCPI_OPT = { TIMESTAMPS: 1, SACK: 2, WSCALE: 4, ECN: 8, ECN_SEEN: 16, SYN_DATA: 32 } as const

/** Linux's "infinite" ssthresh (TCP_INFINITE_SSTHRESH), which tcpi_snd_ssthresh shows before the first loss. */
const INFINITE_SSTHRESH = 0x7fffffff
/** Bytes the timestamps option takes in every segment (aligned): Linux's advmss leaves it out. */
const TIMESTAMPS_ALIGNED = 12
/** tcpi_min_rtt before any sample: Linux's minmax starts at ~0U. */
const NO_MIN_RTT = 0xffffffff
/** Linux's TCP_MIN_MSS and TCP_MSS_DEFAULT (include/net/tcp.h), bounds of the first rcv_mss guess. */
const MIN_MSS = 88
const DEFAULT_MSS = 536

export interface TcpInfo {
  /** The connection's state, as Linux numbers them (LINUX_TCP_STATES). */
  state: number
  /** Open 0, Disorder 1 (duplicate ACKs or SACKs, no recovery yet), CWR 2 (cutting cwnd for an ECN echo), Recovery 3, Loss 4 (after an RTO) (TCP_CA). */
  ca_state: number
  /** Retransmission timeouts in a row for the oldest segment (icsk_retransmits). */
  retransmits: number
  /** Unanswered zero-window or keepalive probes (icsk_probes_out). */
  probes: number
  /** Exponential backoff of the RTO (icsk_backoff). */
  backoff: number
  /** TCPI_OPT bits: timestamps, SACK, window scaling and ECN as the SYNs negotiated; SYN_DATA when Fast Open data in a SYN was accepted. */
  options: number
  /** Window scale shifts, the peer's and ours (RFC 7323); 0 without window scaling. */
  snd_wscale: number
  rcv_wscale: number
  /** The retransmission timeout (µs), backoff included (RFC 6298). */
  rto: number
  /** The delayed ACK timeout (µs). */
  ato: number
  /** Largest data per segment we send (bytes; less the timestamps option when on). */
  snd_mss: number
  /** Segments sent and not cumulatively acknowledged, SYN and FIN included (packets_out). */
  unacked: number
  /** Of those, segments the peer SACKed (sacked_out). */
  sacked: number
  /** Segments counted lost (lost_out): in recovery those RACK marked lost, resent or not; after an RTO all not SACKed. */
  lost: number
  /** Retransmitted segments not yet acknowledged (retrans_out). */
  retrans: number
  /** Always 0, as on Linux since 4.15 (FACK is gone). */
  fackets: number
  /** Milliseconds since data was last sent, since the last ACK was sent (0: Linux does not remember it either), since data last arrived, since a segment last arrived. */
  last_data_sent: number
  last_ack_sent: number
  last_data_recv: number
  last_ack_recv: number
  /** Smoothed RTT and its variation (µs, RFC 6298 SRTT and RTTVAR); 0 before the first sample. */
  rtt: number
  rttvar: number
  /** ssthresh in segments; 2147483647 while it is still "arbitrarily high" (RFC 5681 3.1). */
  snd_ssthresh: number
  /** cwnd in segments (RFC 5681). */
  snd_cwnd: number
  /** The MSS we advertised, less the timestamps option when on (bytes). */
  advmss: number
  /** The reordering the path has shown (DupThresh in use), in segments. */
  reordering: number
  /** Segments retransmitted over the connection's life. */
  total_retrans: number
  /** Segments delivered to the peer, each once, when first cumulatively ACKed or SACKed, retransmissions included; our SYN or SYN,ACK one (Linux's tp->delivered; tcp/delivered.ts). */
  delivered: number
  /** Data bytes acknowledged by the peer, and data bytes received in order (RFC 4898). */
  bytes_acked: number
  bytes_received: number
  /** Bytes written and not yet sent. */
  notsent_bytes: number
  /** The peer's window (bytes, scaled), and the window we last advertised (bytes). */
  snd_wnd: number
  rcv_wnd: number
  /** The peer's MSS as we estimate it (bytes): the largest in-order segment received, at most advmss; 536 or less before one (Linux's icsk_ack.rcv_mss). */
  rcv_mss: number
  /** The path MTU our segments are sized for (bytes, RFC 1191). */
  pmtu: number
  /** Segments sent (retransmissions included) and received, and of those the ones carrying data. */
  segs_out: number
  segs_in: number
  data_segs_out: number
  data_segs_in: number
  /** The smallest RTT sample of the last config.minRttWindowMs, 300 s by default (µs); 4294967295 before the first, as Linux. */
  min_rtt: number
  /** The last delivery rate sample that measured the path (bytes/s; congestion/rate.ts), 0 before one. */
  delivery_rate: number
}

/** The fields of TcpInfo, as a script names them after `tcpi_`. */
export const TCP_INFO_FIELDS: readonly (keyof TcpInfo)[] = [
  'state', 'ca_state', 'retransmits', 'probes', 'backoff', 'options', 'snd_wscale', 'rcv_wscale',
  'rto', 'ato', 'snd_mss', 'unacked', 'sacked', 'lost', 'retrans', 'fackets',
  'last_data_sent', 'last_ack_sent', 'last_data_recv', 'last_ack_recv',
  'rtt', 'rttvar', 'snd_ssthresh', 'snd_cwnd', 'advmss', 'reordering', 'total_retrans',
  'bytes_acked', 'bytes_received', 'notsent_bytes', 'snd_wnd', 'rcv_wnd',
  'rcv_mss', 'pmtu', 'segs_out', 'segs_in', 'data_segs_out', 'data_segs_in', 'min_rtt', 'delivered',
  'delivery_rate',
]

/**
 * TCP_INFO of a connection. `state`: the state to show (a socket's connection in
 * TIME-WAIT lives on in a compact entry, whose state it is); `lastDataRecv`: when
 * in-order data last arrived (ms; the Socket knows, or when the connection opened).
 */
export function tcpInfo(tcb: Tcb, opts: { state?: State; lastDataRecv?: number } = {}): TcpInfo {
  const now = tcb.host.clock.now()
  const mss = Math.max(1, tcb.sndMss)
  const ms = (t: number) => Math.max(0, Math.floor(now - t))
  const us = (t: number) => Math.round(t * 1000)
  const rec = lossCounts(tcb, mss)
  const advmss = tcb.rcvMss - (tcb.tsOk ? TIMESTAMPS_ALIGNED : 0)
  return {
    state: LINUX_TCP_STATES[opts.state ?? tcb.state],
    ca_state: caState(tcb),
    retransmits: tcb.retries,
    probes: tcb.persistBackoff + tcb.keepaliveProbesSent,
    backoff: tcb.rtt.backoff,
    options: (tcb.tsOk ? TCPI_OPT.TIMESTAMPS : 0) | (tcb.sackOk ? TCPI_OPT.SACK : 0) | (tcb.wsOk ? TCPI_OPT.WSCALE : 0) | (tcb.ecnOk ? TCPI_OPT.ECN : 0) |
      (tcb.synDataAcked ? TCPI_OPT.SYN_DATA : 0),
    snd_wscale: tcb.wsOk ? tcb.sndWndScale : 0,
    rcv_wscale: tcb.wsOk ? tcb.rcvWndScale : 0,
    rto: us(tcb.rtt.rto),
    ato: us(tcb.host.config.delayedAckMs),
    snd_mss: tcb.sndMss,
    unacked: packetsOut(tcb, mss),
    sacked: tcb.scoreboard.blocks.reduce((n, b) => n + Math.ceil(seqDiff(b.right, b.left) / mss), 0),
    lost: rec.lost,
    retrans: rec.retrans,
    fackets: 0,
    last_data_sent: ms(tcb.lastDataSent),
    last_ack_sent: 0,
    last_data_recv: ms(opts.lastDataRecv ?? tcb.lastReceived),
    last_ack_recv: ms(tcb.lastReceived),
    rtt: tcb.rtt.srtt === undefined ? 0 : us(tcb.rtt.srtt),
    rttvar: tcb.rtt.srtt === undefined ? 0 : us(tcb.rtt.rttvar),
    snd_ssthresh: tcb.cc.ssthresh >= INITIAL_SSTHRESH ? INFINITE_SSTHRESH : Math.floor(tcb.cc.ssthresh / mss),
    snd_cwnd: Math.floor(tcb.cc.cwnd / mss),
    advmss,
    reordering: tcb.reordering,
    total_retrans: tcb.totalRetransmits,
    bytes_acked: tcb.bytesAcked,
    bytes_received: tcb.bytesReceived,
    notsent_bytes: tcb.unsentBytes,
    snd_wnd: tcb.sndWnd,
    rcv_wnd: tcb.rcvWnd,
    rcv_mss: rcvMssEstimate(tcb),
    pmtu: tcb.pmtu,
    segs_out: tcb.segsOut,
    segs_in: tcb.segsIn,
    data_segs_out: tcb.dataSegsOut,
    data_segs_in: tcb.dataSegsIn,
    min_rtt: Number.isFinite(tcb.minRtt) ? us(tcb.minRtt) : NO_MIN_RTT,
    delivered: tcb.delivered,
    delivery_rate: Math.round((tcb.sent.rate.reported?.rate ?? 0) * 1000),
  }
}

/**
 * The peer's MSS as we estimate it (Linux's icsk_ack.rcv_mss): the largest in-order segment
 * received, at most advmss (tcp_measure_rcv_mss for segments at least as large as the estimate);
 * before one, tcp_initialize_rcv_mss's guess, between TCP_MIN_MSS (88) and TCP_MSS_DEFAULT (536).
 */
export function rcvMssEstimate(tcb: Tcb): number {
  const advmss = tcb.rcvMss - (tcb.tsOk ? TIMESTAMPS_ALIGNED : 0)
  const guess = Math.max(MIN_MSS, Math.min(advmss, tcb.sndMss, Math.floor(tcb.rcvWnd / 2), DEFAULT_MSS))
  return Math.max(guess, tcb.rcvMssSeen)
}

/** TCP_INFO of a socket without a connection (a listener, a socket not yet connected): its state, the rest 0. */
export function emptyTcpInfo(state: State): TcpInfo {
  const info = Object.fromEntries(TCP_INFO_FIELDS.map(f => [f, 0])) as unknown as TcpInfo
  info.state = LINUX_TCP_STATES[state]
  return info
}

function caState(tcb: Tcb): number {
  if (tcb.lossState === 'loss') return TCP_CA.Loss
  if (tcb.lossState === 'recovery') return TCP_CA.Recovery
  if (tcb.cwr !== null) return TCP_CA.CWR // an ECN reduction (RFC 3168 6.1.2, recovery/cwr.ts)
  return tcb.dupAcks > 0 || !tcb.scoreboard.isEmpty ? TCP_CA.Disorder : TCP_CA.Open
}

/**
 * Segments in flight. tuntcp keeps bytes, not segments: the data counts in
 * full-sized segments (a flight of small ones counts as fewer), plus the SYN,
 * and a FIN sent on its own.
 */
function packetsOut(tcb: Tcb, mss: number): number {
  let bytes = seqDiff(tcb.sndNxt, tcb.sndUna)
  if (bytes <= 0) return 0
  let n = 0
  const synOut = tcb.sndUna === tcb.iss && (tcb.state === 'SYN-SENT' || tcb.state === 'SYN-RECEIVED')
  if (synOut) { n++; bytes-- }
  const finOut = tcb.finSeq !== null && seqGe(tcb.finSeq, tcb.sndUna) && seqLt(tcb.finSeq, tcb.sndNxt)
  if (finOut) bytes--
  n += Math.ceil(bytes / mss)
  if (finOut && bytes === 0) n++
  return n
}

/** lost_out and retrans_out, counted MSS by MSS over the unacknowledged data that is not SACKed. */
function lossCounts(tcb: Tcb, mss: number): { lost: number; retrans: number } {
  const board = tcb.scoreboard
  const count = (end: number, also: (seq: number) => boolean = () => true): number => {
    let n = 0
    for (let s = tcb.sndUna; seqLt(s, end); s = seqAdd(s, mss)) if (!board.isSacked(s) && also(s)) n++
    return n
  }
  if (tcb.lossState === 'loss') {
    // After an RTO everything then in flight and not SACKed is lost (Linux's tcp_enter_loss); go-back-N resends up to rtxNext.
    return { lost: count(tcb.recover), retrans: count(tcb.rtxNext) }
  }
  if (tcb.lossState === 'recovery') {
    // With SACK, lost_out: the segments RACK (or DupThresh) marked lost, resent since or not
    // (Linux's TCPCB_LOST); NewReno: the segment at SND.UNA.
    let lost = 1
    if (tcb.sackOk) {
      lost = 0
      let prev: SentSegment | undefined
      for (const s of tcb.sent.segments) {
        if (s.markedLost && !s.delivered) lost += segmentsOf(tcb, s, prev)
        prev = s
      }
    }
    return { lost, retrans: count(tcb.sackOk ? tcb.highRxt : seqAdd(tcb.sndUna, 1)) }
  }
  return { lost: 0, retrans: 0 }
}
