// Tunables of the TCP layer, with the defaults a Linux user would expect.

import type { CongestionControlName } from './congestion/types.js'

export interface TcpConfig {
  /** Maximum segment lifetime (ms); TIME-WAIT lasts 2 * MSL (RFC 9293 3.4.2). */
  mslMs: number
  /** How long an orphaned FIN-WAIT-2 waits for the peer's FIN (Linux tcp_fin_timeout). */
  finWait2TimeoutMs: number
  /** Receive buffer per connection (bytes): the most we ever advertise. */
  rcvBufSize: number
  /**
   * The largest the receive buffer may grow to (Linux tcp_rmem[2], or net.core.rmem_max when
   * larger): our window scale is chosen to cover it, not only rcvBufSize, as Linux's
   * tcp_select_initial_window (net/ipv4/tcp_output.c) does. 0: rcvBufSize alone.
   */
  rcvBufMax: number
  /** Send buffer per connection (bytes): write() returns false beyond it. */
  sndBufSize: number
  /** RFC 6298 timer bounds (ms). */
  initialRtoMs: number
  minRtoMs: number
  maxRtoMs: number
  /**
   * Where minRtoMs applies: false, to the RTO (RFC 6298 2.4: RTO = max(SRTT + 4 * RTTVAR,
   * minimum)); true, to the variance term, as Linux's tcp_set_rto (net/ipv4/tcp_input.c:
   * RTO = SRTT + max(4 * RTTVAR, tcp_rto_min)), so that a 100 ms path gets 300 ms, not 200.
   */
  minRtoOnVariance: boolean
  /** Retransmissions of a SYN before ETIMEDOUT (Linux tcp_syn_retries). */
  synRetries: number
  /** Retransmissions of data or FIN before ETIMEDOUT. */
  dataRetries: number
  /** Longest an ACK is delayed (ms); RFC 9293 3.8.6.3 says under 0.5 s. */
  delayedAckMs: number
  /**
   * Quick-ACK mode, as Linux's tcp_incr_quickack (net/ipv4/tcp_input.c): from the first data
   * of a connection (and again after an idle gap longer than the RTO, or when the peer resends
   * data we had, a sign our ACK was lost) ACK every data segment at once, for up to
   * rcvWnd / (2 * MSS) segments, at most 16 (TCP_MAX_QUICKACKS), so the peer's slow start
   * is not held back by delayed ACKs. Not while the connection is interactive (we answered
   * within delayedAckMs: Linux's pingpong mode), where the reply carries the ACK.
   */
  quickAck: boolean
  /**
   * The quick-ACK period after data sent again (Linux's tcp_enter_quickack_mode from
   * tcp_send_dupack): a segment wholly below RCV.NXT means our ACK was lost or the sender
   * resent needlessly, so the next rcvWnd / (2 * MSS) data segments, at most 16, are each ACKed
   * at once, and the sender's loss recovery hears of every arrival. On by default (measured
   * on the lossy path, docs/options.md); the start-of-connection period is `quickAck`'s.
   */
  quickAckOnDuplicate: boolean
  /**
   * PSH placement. Always: on the segment that carries the last byte written so far (RFC
   * 9293 3.9.1's push at the end of each SEND, as Linux's tcp_push marks the tail of each
   * write, net/ipv4/tcp.c). With pushBursts also on the last segment of every packet of
   * more than one segment that a burst of new data is cut into, as Linux's TSO packets carry
   * it (tcp_write_xmit, tcp_tso_autosize in net/ipv4/tcp_output.c; send.ts), even while more
   * data waits for cwnd.
   */
  pushBursts: boolean
  /** With pushBursts: the fewest segments in such a packet (Linux's tcp_min_tso_segs, 2). */
  minTsoSegs: number
  /**
   * The tail loss probe (RFC 8985 7) also during fast recovery, not only in the open state
   * as Linux (tcp_schedule_loss_probe, net/ipv4/tcp_output.c): there a lost retransmission
   * with nothing sent after it is invisible to RACK, and only a probe or the RTO finds it
   * (docs/congestion-control.md measures it: RTOs per 20 MiB 23-30 -> 10-11).
   */
  probeInRecovery: boolean
  /**
   * PRR's slow-start reduction bound (RFC 6937 3, PRR-SSRB) adds its extra segment only on a
   * "safe" ACK, one that moves SND.UNA and marks nothing newly lost, and keeps to the
   * conservative bound otherwise: RFC 9937's rule, as Linux's tcp_cwnd_reduction. Off: on
   * every ACK of that phase, as RFC 6937 (measured fewer RTOs here: docs/congestion-control.md).
   */
  prrSafeAck: boolean
  /**
   * Nagle's algorithm as Minshall's variant, as Linux (tcp_nagle_check, tcp_minshall_check in
   * net/ipv4/tcp_output.c): a small segment waits only while an earlier small one is
   * unacknowledged, not while any data is (RFC 9293 3.7.4's rule, the default). A write that
   * ends in a partial segment then goes whole behind full-sized ones.
   */
  minshallNagle: boolean
  /**
   * How far an ACK outside fast recovery grows cwnd. Off: by the bytes it newly acknowledges
   * cumulatively (RFC 5681 3.1 with RFC 3465's byte counting), SACKed ones included. On: by
   * the data it newly delivered (cumulatively or by SACK, Linux's acked_sacked: bytes SACKed
   * by an earlier ACK count then, not again), and an ACK that only SACKs grows it only once
   * the path is seen to reorder beyond DupThresh, as Linux's tcp_may_raise_cwnd (tcp_input.c).
   */
  growOnDelivered: boolean
  /** Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6): idle time, probe interval (ms), probes. */
  keepaliveIdleMs: number
  keepaliveIntervalMs: number
  keepaliveProbes: number
  /** Largest number of half-open (SYN-RECEIVED) connections per listener. */
  synBacklog: number
  /** Largest number of connections the stack holds in all. */
  maxConnections: number
  /**
   * Any-destination mode: how long a SYN offered to the 'syn' hook may wait undecided (ms);
   * then it is dropped (counted, tcp-syn-undecided) and the client's next SYN asks again.
   * Undecided SYNs and the handshakes accepted from them count against synBacklog.
   */
  synDecisionTimeoutMs: number
  /** The congestion control algorithm of new connections (congestion/; Linux tcp_congestion_control). */
  congestionControl: CongestionControlName
  /** Offer window scaling in our SYNs (RFC 7323 2; Linux tcp_window_scaling). */
  windowScaling: boolean
  /** Offer timestamps in our SYNs (RFC 7323 3; Linux tcp_timestamps). */
  timestamps: boolean
  /** Offer SACK-permitted in our SYNs (RFC 2018; Linux tcp_sack). */
  sack: boolean
  /**
   * ECN (RFC 3168; Linux tcp_ecn, ecn.ts): 0 never; 1 ask for it in our SYNs and agree when
   * asked; 2 agree only when the peer asks (Linux's default, and tuntcp's: it never asks).
   */
  ecn: 0 | 1 | 2
  /** RFC 5961 section 7: challenge ACKs per second for the whole stack (Linux tcp_challenge_ack_limit); randomized per second. */
  challengeAckLimit: number
  /**
   * An ACK of data never sent (SEG.ACK > SND.NXT) in a synchronized state: answer it with a
   * (rate-limited) challenge ACK, as RFC 9293 3.10.7.4 and RFC 5961 5.2 say, or drop it
   * silently, as Linux's tcp_ack does (net/ipv4/tcp_input.c; the Linux profile).
   */
  ackUnsentChallenge: boolean
  /**
   * With timestamps on, drop a segment (not a RST) that carries none, as RFC 7323 3.2 says a
   * TCP SHOULD; off, take it, skipping PAWS for it, as Linux does (tcp_validate_incoming,
   * net/ipv4/tcp_input.c, checks PAWS only on segments with the option; the Linux profile).
   */
  timestampsRequired: boolean
  /**
   * The receive window as Linux grows it (tcp_grow_window, net/ipv4/tcp_input.c; receive.ts
   * growWindow): we advertise at most rcv_ssthresh, which starts at min(buffer, 65535)
   * (tcp_select_initial_window, net/ipv4/tcp_output.c) and grows with the data that arrives;
   * off, the free buffer (RFC 9293 3.8.6.2.2).
   */
  rcvSsthresh: boolean
  /**
   * The RST of an ABORT (close with unread data, destroy(), a keepalive or FIN-WAIT-2
   * timeout) also carries ACK and RCV.NXT, as Linux's tcp_send_active_reset
   * (net/ipv4/tcp_output.c); off, it is RFC 9293 3.10.5's <SEQ=SND.NXT><CTL=RST>.
   */
  abortResetAck: boolean
  /** RFC 4987 3.6: answer SYNs with a SYN cookie once a listener's SYN queue is full (Linux tcp_syncookies=1). */
  synCookies: boolean
  /**
   * Out-of-order pieces (one per segment) one connection may hold; beyond it the highest
   * are dropped (memory per connection). 4096 full-sized pieces outnumber what the receive
   * buffer holds, so only a peer sending tiny segments ever meets the bound.
   */
  maxOutOfOrderPieces: number
  /**
   * Header prediction (fast-path.ts): recognise a pure ACK of new data and the next in-order
   * data segment of an ESTABLISHED connection and take a shorter road for them. Off: every
   * segment goes through all the steps of RFC 9293 3.10.7.4 (the result is the same).
   */
  headerPrediction: boolean
  /**
   * ACK coalescing (tcp-layer.ts): on a link that delivers packets in batches (a TUN device),
   * the ACKs a connection owes for the segments of one batch go as one, at the end of the batch.
   */
  ackCoalescing: boolean
  /**
   * The most received data one coalesced ACK covers (bytes; 64 KiB, what Linux's GRO merges
   * into one packet at most, and Linux ACKs each): when one more full-sized segment would not
   * fit, the ACK goes at once rather than at the batch's end. So an offloaded 64 KiB packet
   * gets its own ACK, and so do 45 MTU-sized segments of one batch (docs/performance.md).
   */
  ackCoalescingMaxBytes: number
  /**
   * Output coalescing (tcp-layer.ts): what the application sends or closes while a batch is
   * handled (its callbacks included) goes when the batch ends, in as few segments as the rules
   * allow: a response and the FIN after it in one. Only with ackCoalescing, on a batching link.
   */
  outputCoalescing: boolean
  /**
   * The tail loss probe's timeout (recovery/timers.ts, RFC 8985 7.2) is 2 * SRTT, at least
   * probeTimeoutMinMs, plus the peer's worst delayed ACK when one segment is out, else plus
   * probeTimeoutSlackMs. tuntcp: at least 10 ms, as the TLP draft; Linux: 2 ms added
   * (TCP_TIMEOUT_MIN, tcp_schedule_loss_probe in net/ipv4/tcp_output.c).
   */
  probeTimeoutMinMs: number
  probeTimeoutSlackMs: number
  /** How long the minimum RTT (tcpi_min_rtt) holds before a new sample replaces it (ms; Linux tcp_min_rtt_wlen, 300 s). */
  minRttWindowMs: number
  /** TCP Fast Open (RFC 7413): which ends may use it, as the bits of Linux's net.ipv4.tcp_fastopen. */
  fastOpen: FastOpenConfig
  /**
   * The server's cookie key (RFC 7413 4.1.2), 16 bytes written as Linux's tcp_fastopen_key
   * sysctl writes it, four groups of 8 hex digits: 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4', and
   * perhaps a backup key after a comma, which still checks cookies given before a rotation.
   * null: a key drawn from the stack's random source when the stack starts.
   */
  fastOpenKey: string | null
}

/**
 * Fast Open switches (RFC 7413; Linux's tcp_fastopen bits, Documentation/networking/ip-sysctl.rst).
 * A socket still asks for Fast Open itself: `connect({ fastOpen })` or `listen({ fastOpen })`.
 */
export interface FastOpenConfig {
  /** 0x1: a client may send data in its SYN (and ask for a cookie). */
  client: boolean
  /** 0x2: a listener with a Fast Open queue accepts data in a SYN with a valid cookie. */
  server: boolean
  /** 0x4: a client sends data in its SYN even without a cookie. */
  clientNoCookie: boolean
  /** 0x200: a Fast Open listener accepts data in any SYN, cookie or not. */
  serverNoCookie: boolean
  /** 0x400: every listener acts as if it had asked for Fast Open, its backlog as the queue length. */
  serverAllListeners: boolean
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  mslMs: 30_000,
  finWait2TimeoutMs: 60_000,
  rcvBufSize: 2 * 1024 * 1024, // with window scaling (RFC 7323) a window this large can be advertised
  rcvBufMax: 0,
  sndBufSize: 2 * 1024 * 1024,
  initialRtoMs: 1_000,
  minRtoMs: 200,
  maxRtoMs: 60_000,
  minRtoOnVariance: false,
  synRetries: 6,
  dataRetries: 10,
  delayedAckMs: 40,
  quickAck: false,
  quickAckOnDuplicate: true,
  pushBursts: false,
  minTsoSegs: 2,
  probeInRecovery: true,
  prrSafeAck: false,
  minshallNagle: false,
  // Measured better here (bench/lossy-sim.ts, 20 MiB x 10 seeds: RTOs 7.4 -> 4.8 CUBIC, 7.9 -> 5.8 NewReno; goodput +9-13%).
  growOnDelivered: true,
  keepaliveIdleMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveProbes: 9,
  synBacklog: 256,
  maxConnections: 65_536,
  synDecisionTimeoutMs: 30_000, // about what a Linux client's first five SYN retransmissions span (1+2+4+8+16 s)
  congestionControl: 'cubic',
  windowScaling: true,
  timestamps: true,
  sack: true,
  ecn: 2,
  challengeAckLimit: 1000,
  synCookies: true,
  ackUnsentChallenge: true,
  timestampsRequired: true,
  rcvSsthresh: false,
  abortResetAck: false,
  maxOutOfOrderPieces: 4096,
  headerPrediction: true,
  ackCoalescing: true,
  ackCoalescingMaxBytes: 65_536,
  outputCoalescing: true,
  probeTimeoutMinMs: 10,
  probeTimeoutSlackMs: 0,
  // Both ends allowed; nothing happens until a socket asks for it (the per-socket option).
  fastOpen: { client: true, server: true, clientNoCookie: false, serverNoCookie: false, serverAllListeners: false },
  fastOpenKey: null,
  minRttWindowMs: 300_000,
}

/** The names of the profiles below, for `--profile NAME` and `StackOptions.tcp`. */
export type TcpProfileName = 'linux'

/**
 * Linux's TCP as packetdrill scripts observe it: `new Stack({ ..., tcp: TCP_PROFILES.linux })`,
 * `tuntcp script --profile linux`, and every script that runs Linux's defaults.sh. Each
 * value is Linux's, from the file named; the rest of TcpConfig is the same either way
 * (docs/scripts.md, "The Linux profile", has the table).
 */
export const LINUX_PROFILE: Readonly<Partial<TcpConfig>> = {
  // tcp_rmem "4096 131072 6291456", Linux's built-in default (net/ipv4/tcp.c tcp_init): the
  // window scale covers the max, 7 (tcp_select_initial_window, net/ipv4/tcp_output.c).
  rcvBufSize: 131_072,
  rcvBufMax: 6_291_456,
  // TCP_TIMEOUT_INIT 1 s, TCP_RTO_MIN 200 ms, TCP_RTO_MAX 120 s (include/net/tcp.h).
  initialRtoMs: 1_000,
  minRtoMs: 200,
  maxRtoMs: 120_000,
  // RTO = SRTT + max(4 * RTTVAR, TCP_RTO_MIN) (tcp_set_rto, tcp_rtt_estimator in net/ipv4/tcp_input.c).
  minRtoOnVariance: true,
  // TCP_DELACK_MIN 40 ms (include/net/tcp.h) and quick-ACK mode (tcp_input.c).
  delayedAckMs: 40,
  quickAck: true,
  quickAckOnDuplicate: true,
  // PSH at the end of each write and of each TSO packet of a burst (tcp.c tcp_push, tcp_output.c).
  pushBursts: true,
  // The tail loss probe only in the open state (tcp_schedule_loss_probe, tcp_output.c).
  probeInRecovery: false,
  // Its timeout: 2 * SRTT + TCP_TIMEOUT_MIN (2 ms) with more than one segment out, no floor (tcp_schedule_loss_probe).
  probeTimeoutMinMs: 0,
  probeTimeoutSlackMs: 2,
  // PRR-SSRB's extra segment only on an ACK that moves SND.UNA with no new loss (tcp_cwnd_reduction, tcp_input.c).
  prrSafeAck: true,
  // Nagle holds a small segment only behind an unacknowledged small one (tcp_minshall_check, tcp_output.c).
  minshallNagle: true,
  // cwnd grows by what each ACK newly delivered (tcp_cong_control, tcp_may_raise_cwnd, tcp_input.c).
  growOnDelivered: true,
  // An ACK of unsent data is dropped without an answer (tcp_ack, tcp_input.c).
  ackUnsentChallenge: false,
  // A segment without timestamps on a timestamps connection is taken (tcp_validate_incoming, tcp_input.c).
  timestampsRequired: false,
  // The window starts at 64 KiB and grows with the data received (tcp_select_initial_window, tcp_grow_window).
  rcvSsthresh: true,
  // The RST of an abort carries ACK (tcp_send_active_reset, tcp_output.c).
  abortResetAck: true,
  // tcp_syn_retries 6 and tcp_retries2 15 (Documentation/networking/ip-sysctl.rst).
  synRetries: 6,
  dataRetries: 15,
  congestionControl: 'cubic',
  windowScaling: true,
  timestamps: true,
  sack: true,
  // tcp_fastopen=1, TFO_CLIENT_ENABLE (include/net/tcp.h): the client side only.
  fastOpen: { client: true, server: false, clientNoCookie: false, serverNoCookie: false, serverAllListeners: false },
  // tcp_ecn 2: ECN when the peer asks for it (Documentation/networking/ip-sysctl.rst).
  ecn: 2,
}

export const TCP_PROFILES: Readonly<Record<TcpProfileName, Readonly<Partial<TcpConfig>>>> = { linux: LINUX_PROFILE }
