// Tunables of the TCP layer, with the defaults a Linux user would expect.

import type { CongestionControlName } from './congestion/types.js'

export interface TcpConfig {
  /** Maximum segment lifetime (ms); TIME-WAIT lasts 2 * MSL (RFC 9293 3.4.2). */
  mslMs: number
  /** How long an orphaned FIN-WAIT-2 waits for the peer's FIN (Linux tcp_fin_timeout). */
  finWait2TimeoutMs: number
  /** Receive buffer per connection (bytes): the most we ever advertise. */
  rcvBufSize: number
  /** Send buffer per connection (bytes): write() returns false beyond it. */
  sndBufSize: number
  /** RFC 6298 timer bounds (ms). */
  initialRtoMs: number
  minRtoMs: number
  maxRtoMs: number
  /** Retransmissions of a SYN before ETIMEDOUT (Linux tcp_syn_retries). */
  synRetries: number
  /** Retransmissions of data or FIN before ETIMEDOUT. */
  dataRetries: number
  /** Longest an ACK is delayed (ms); RFC 9293 3.8.6.3 says under 0.5 s. */
  delayedAckMs: number
  /** Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6): idle time, probe interval (ms), probes. */
  keepaliveIdleMs: number
  keepaliveIntervalMs: number
  keepaliveProbes: number
  /** Largest number of half-open (SYN-RECEIVED) connections per listener. */
  synBacklog: number
  /** Largest number of connections the stack holds in all. */
  maxConnections: number
  /** The congestion control algorithm of new connections (congestion/; Linux tcp_congestion_control). */
  congestionControl: CongestionControlName
  /** Offer window scaling in our SYNs (RFC 7323 2; Linux tcp_window_scaling). */
  windowScaling: boolean
  /** Offer timestamps in our SYNs (RFC 7323 3; Linux tcp_timestamps). */
  timestamps: boolean
  /** Offer SACK-permitted in our SYNs (RFC 2018; Linux tcp_sack). */
  sack: boolean
  /** RFC 5961 section 7: challenge ACKs per second for the whole stack (Linux tcp_challenge_ack_limit); randomized per second. */
  challengeAckLimit: number
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
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  mslMs: 30_000,
  finWait2TimeoutMs: 60_000,
  rcvBufSize: 2 * 1024 * 1024, // with window scaling (RFC 7323) a window this large can be advertised
  sndBufSize: 2 * 1024 * 1024,
  initialRtoMs: 1_000,
  minRtoMs: 200,
  maxRtoMs: 60_000,
  synRetries: 6,
  dataRetries: 10,
  delayedAckMs: 40,
  keepaliveIdleMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveProbes: 9,
  synBacklog: 256,
  maxConnections: 65_536,
  congestionControl: 'cubic',
  windowScaling: true,
  timestamps: true,
  sack: true,
  challengeAckLimit: 1000,
  synCookies: true,
  maxOutOfOrderPieces: 4096,
  headerPrediction: true,
  ackCoalescing: true,
}
