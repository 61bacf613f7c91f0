// The Transmission Control Block: the variables of RFC 9293 section 3.3.1 for
// one connection, its buffers and timers, and the one function every state
// change goes through. What happens to a TCB lives beside it, one file per
// kind of event (RFC 9293 3.10): user.ts (the user calls), input.ts (segment
// arrives), timers.ts (timeouts); below them send.ts, receive.ts, recovery/, and
// emit.ts, which builds every segment sent.

import { endpointText, type Address } from '../wire/address.js'
import type { Clock } from '../time/clock.js'
import { Timer, type TimerWheel } from '../time/timer-wheel.js'
import type { Counters } from '../counters.js'
import type { FastOpenOption, TcpPacketFields } from '../wire/tcp.js'
import { createCongestionControl, type CongestionControl } from './congestion/index.js'
import type { TcpConfig } from './config.js'
import { Reassembly } from './reassembly.js'
import { SackScoreboard, type SackBlock } from './sack.js'
import { SentSegments, newRack, type Rack } from './recovery/sent.js'
import { RtoEstimator } from './rto.js'
import { SendBuffer } from './send-buffer.js'
import { seqAdd, seqDiff, seqGt, seqMax } from './seq.js'
import { isTransition, type State } from './state.js'
import type { TimeWait } from './time-wait.js'
import type { FastOpenCache } from './fast-open-cache.js'

export type TcpErrorCode =
  | 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT' | 'ECONNABORTED'
  | 'EHOSTUNREACH' | 'ENETUNREACH' // from ICMP destination unreachable (icmp-errors.ts)

/** An error a connection ends with, shaped like Node's system errors. */
export class TcpError extends Error {
  constructor(readonly code: TcpErrorCode, message: string) {
    super(message)
    this.name = 'TcpError'
  }
}

/** The application's side of a TCB: the Socket implements this. */
export interface TcbUser {
  /** The connection reached ESTABLISHED. */
  onEstablished(): void
  /** In-order bytes from the peer (a copy the user may keep). */
  onData(data: Buffer): void
  /** The peer's FIN: no more data will come. */
  onFin(): void
  /** Acknowledged data freed room in the send buffer. */
  onSendSpace(): void
  /** A write waits for that room: onSendSpace would run application code. Absent: assume it may. */
  writerWaiting?(): boolean
  /** The TCB reached CLOSED; `error` says why when it was not a clean close. */
  onClosed(error: TcpError | null): void
  onStateChange(from: State, to: State, cause: string): void
  /** Bytes delivered by onData that the application has not read yet: they fill the receive window. */
  readBuffered(): number
}

/** A segment to send; the host adds ports, addresses and checksums. */
export type OutSegment = Pick<TcpPacketFields, 'seq' | 'ack' | 'flags' | 'window' | 'options' | 'payload' | 'tos'>

/** The reduction under way (Linux's CA_CWR state): where it ends, and PRR's counts (bytes). */
export interface CwrState {
  /** SND.NXT when it began: done once SND.UNA reaches it (Linux's high_seq). */
  recover: number
  /** cwnd before the cut: PRR's RecoverFS, as Linux's prior_cwnd. */
  priorCwnd: number
  /** prr_delivered and prr_out (RFC 6937 3). */
  delivered: number
  out: number
}

/** What a TCB needs from the stack around it. */
export interface TcpHost {
  readonly clock: Clock
  readonly wheel: TimerWheel
  readonly config: TcpConfig
  readonly counters: Counters
  /** With segmentation offload: the largest payload of one segment handed to the link; 0 without. */
  readonly tsoMaxPayload: number
  transmit(tcb: Tcb, seg: OutSegment): void
  stateChanged(tcb: Tcb, from: State, to: State, cause: string): void
  /** A passive open reached ESTABLISHED: hand it to its listener. */
  accept(tcb: Tcb): void
  /** The TCB entered TIME-WAIT: put a compact entry in its place (time-wait.ts). */
  timeWait(tcb: Tcb): void
  /** The stack's RFC 5961 challenge ACK budget (ChallengeAckLimiter, challenge-ack.ts): may one more go now? Absent: never limited. */
  readonly challengeAcks?: { take(): boolean }
  /** Hold this TCB's immediate ACK to the end of the link's batch (ACK coalescing); false: send it now. */
  holdAck?(tcb: Tcb): boolean
  /** Hold this TCB's output (the application's SEND or CLOSE) to the end of the link's batch; false: send now. */
  holdOutput?(tcb: Tcb): boolean
  /** This TCB's output is held already (its application wrote during the batch): the text step leaves it to the batch end. */
  outputHeld?(tcb: Tcb): boolean
  /** The stack's Fast Open cookie cache, per server address (RFC 7413 4.1.3; fast-open-cache.ts). Absent: no Fast Open as a client. */
  readonly fastOpenCache?: FastOpenCache
}

/** The client's side of TCP Fast Open on one active open (RFC 7413 4.2.1; fast-open-client.ts). */
export interface FastOpenClient {
  /** The SYN waits for the first SEND, whose data it carries (Linux's TCP_FASTOPEN_CONNECT with a cookie at hand). */
  deferred: boolean
  /** The Fast Open option our first SYN carries (a cookie, or an empty one: a request); null after it, or for none. */
  synOption: { cookie: Uint8Array; experimental: boolean } | null
  /** Our first SYN carried the option (Linux's syn_fastopen): only then is a cookie in the SYN,ACK taken. */
  asked: boolean
  /** That option was the experimental form (kind 254, ExID 0xF989). */
  experimental: boolean
  /** The most data the first SYN may carry: the server's cached MSS less 40 bytes for options (as Linux). */
  room: number
  /** Data bytes the first SYN carried (Linux's syn_data); all acknowledged sets Tcb.synDataAcked. */
  synData: number
}

/** Where loss recovery is (recovery/recovery-and-undo.ts): no loss suspected, fast recovery, or after an RTO. */
export type LossState = 'open' | 'recovery' | 'loss'

/** Proportional Rate Reduction (RFC 6937 3, RFC 9937): how much one fast recovery may send (recovery/prr.ts). */
export interface Prr {
  /** prr_delivered: bytes the peer received since the recovery began, cumulatively ACKed or SACKed. */
  delivered: number
  /** prr_out: bytes sent since the recovery began, retransmissions and new data. */
  out: number
  /** RecoverFS: what was in flight when it began that the peer had not yet reported received. */
  recoverFs: number
  /** sndcnt of the last ACK: the bytes PRR let it send (RFC 6937 3). */
  sndcnt: number
  /** SentSegments.lossMarks at the last ACK: a change is a loss newly marked (RFC 9937's unsafe ACK). */
  lossMarks: number
}

const MAX_WINDOW = 65_535 // without window scaling (RFC 7323), the window field is 16 bits

export class Tcb {
  state: State = 'CLOSED'
  /** Opened by a listener (passive OPEN) rather than by connect(). */
  passive = false
  /** The application: null once it has closed or destroyed its socket (an orphan). */
  user: TcbUser | null = null
  /** Why the connection ended, when it did not end cleanly. */
  error: TcpError | null = null
  /** In TIME-WAIT: the compact entry that carries the connection on (time-wait.ts); the stack holds that, not this TCB. */
  timeWait: TimeWait | null = null
  /** The last ICMP soft error (RFC 1122 4.2.3.9): reported instead of ETIMEDOUT if the connection times out. */
  softError: TcpError | null = null

  // Send sequence variables (RFC 9293 3.3.1)
  /** Initial send sequence number. */
  iss = 0
  /** SND.UNA: oldest unacknowledged sequence number. */
  sndUna = 0
  /** SND.NXT: next sequence number to send (never moves back; retransmissions resend below it). */
  sndNxt = 0
  /** SND.WND: the window the peer advertised. */
  sndWnd = 0
  /** SND.WL1: segment sequence number used for the last window update. */
  sndWl1 = 0
  /** SND.WL2: segment acknowledgment number used for the last window update. */
  sndWl2 = 0
  /** The largest window the peer has advertised. */
  maxSndWnd = 0
  /** Effective MSS for what we send: the peer's MSS option, clamped to our MTU. */
  sndMss = 536

  // Receive sequence variables (RFC 9293 3.3.1)
  /** Initial receive sequence number. */
  irs = 0
  /** RCV.NXT: next sequence number expected. */
  rcvNxt = 0
  /** RCV.NXT + RCV.WND as last advertised: the right edge never moves left (3.8.6.2.2). */
  rcvAdv = 0
  /** The MSS we advertise: our MTU less 40 bytes of headers. */
  rcvMss = 1460

  // Send side
  /** Data written by the application and not yet acknowledged. */
  readonly sendBuffer = new SendBuffer()
  /** Sequence number of sendBuffer's first byte. */
  bufSeq = 0
  /** The application called CLOSE: a FIN follows the queued data. */
  finQueued = false
  /** Sequence number of our FIN once sent. */
  finSeq: number | null = null

  // Receive side
  /** Out-of-order data awaiting the bytes before it. */
  readonly reassembly = new Reassembly()
  /** The peer's FIN has been received in order. */
  finReceived = false
  /** In-order data received since we last sent an ACK, in full-sized segments (RFC 9293 3.8.6.3: ACK every second). */
  unackedSegments = 0
  /** Quick-ACK mode (config.quickAck, Linux's icsk_ack.quick): this many more data segments are ACKed at once, not delayed. */
  quickAcks = 0
  /** When in-order data last arrived (ms), or null before the first: quick ACKs start there (Linux's icsk_ack.lrcvtime). */
  lastDataReceived: number | null = null
  /** The largest in-order segment seen, at most our MSS (Linux's icsk_ack.rcv_mss): sizes the quick-ACK count, tcpi_rcv_mss. */
  rcvMssSeen = 0
  /** Interactive: we sent data soon after the last data received (Linux's pingpong mode); no quick ACKs. */
  pingpong = false
  /** SND.NXT when that data arrived: whether we have replied since. */
  sndNxtAtLastData = 0

  // Options negotiated on the SYNs (RFC 7323, RFC 2018); each is on only when both SYNs carried it.
  /** Both SYNs carried the window scale option (RFC 7323 2.2). */
  wsOk = false
  /** Snd.Wind.Shift: the peer's window fields are shifted left by this (RFC 7323 2.3); 0 without scaling. */
  sndWndScale = 0
  /** Rcv.Wind.Shift: our window fields are shifted right by this (RFC 7323 2.3); 0 without scaling. */
  rcvWndScale = 0
  /** Snd.TS.OK: both SYNs carried timestamps; every segment now carries TSopt (RFC 7323 3.2). */
  tsOk = false
  /** TS.Recent: the peer's TSval we echo in TSecr (RFC 7323 4.3); PAWS compares against it (5.3). */
  tsRecent = 0
  /** When TS.Recent was last set (clock ms): older than 24 days it is no longer valid (5.5). */
  tsRecentAge = 0
  /** Last.ACK.sent: the ACK field of the last segment we sent (RFC 7323 4.3). */
  lastAckSent = 0
  /** Added to the clock for our TSvals, random per connection (RFC 7323 7.1). */
  tsOffset = 0
  /**
   * Data in a SYN was accepted (RFC 7413 Fast Open): as a server, a SYN's data taken with the
   * connection; as a client, our SYN's data acknowledged by the SYN,ACK. TCP_INFO's
   * TCPI_OPT_SYN_DATA bit (Linux's syn_data_acked).
   */
  synDataAcked = false
  /**
   * A Fast Open server connection (RFC 7413 4.2.2, Linux's fastopen_rsk): handed to the
   * application in SYN-RECEIVED, which may read and write before our SYN is acknowledged.
   */
  fastOpenPassive = false
  /** The Fast Open cookie our next SYN,ACK gives (RFC 7413 4.1.2), or null: set for the first one only, as Linux. */
  synAckCookie: FastOpenOption | null = null
  /** ECN (RFC 3168 6.1.1): both SYNs agreed; our new data goes ECT(0) (ecn.ts). */
  ecnOk = false
  /** We received a CE mark: ECE on every ACK until the peer's CWR (6.1.3). */
  ecnEcho = false
  /** We cut cwnd for an ECE: the next new data segment carries CWR (6.1.2). */
  ecnCwrPending = false
  /** Sack.OK: both SYNs carried SACK-permitted (RFC 2018 2). */
  sackOk = false
  /** What the peer has SACKed above SND.UNA (RFC 6675 scoreboard), fed from every ACK when sackOk. */
  readonly scoreboard = new SackScoreboard()
  /** Left edges of the out-of-order segments most recently received, newest first: SACK block order (RFC 2018 4). */
  sackRecent: number[] = []
  /** Where the last segment smaller than SND.MSS we sent ends (Linux's snd_sml), or null: Minshall's Nagle (send.ts). */
  sndSml: number | null = null
  /** Nagle's algorithm is off (setNoDelay(true)): small segments go at once (RFC 9293 3.7.4). */
  noDelay = false
  /** This connection's send buffer size (SO_SNDBUF), or null for the stack's sndBufSize. */
  sndBufSize: number | null = null
  /** This connection's receive buffer size (SO_RCVBUF), or null for the stack's rcvBufSize. */
  rcvBufSize: number | null = null
  /** TCP_CORK: hold partial segments until uncorked (Linux's TCP_NAGLE_CORK; user.ts setCork). */
  corked = false
  /** TCP_NOTSENT_LOWAT: the socket is writable only while fewer bytes than this wait unsent; null: no limit. */
  notsentLowat: number | null = null
  /** TCP_USER_TIMEOUT (RFC 5482) in ms: abort once data stays unacknowledged this long; 0: retries decide. */
  userTimeoutMs = 0
  /** When the oldest unacknowledged data was first sent, as Linux's retrans_stamp (ms), set at the first RTO. */
  retransStamp = 0
  /** Linux's rcv_ssthresh: with config.rcvSsthresh, the most window we advertise (receive.ts growWindow). */
  rcvSsthresh = MAX_WINDOW
  /** The window last advertised was smaller than the buffer because of data held: reads may call for a window update. */
  rcvWndHeldBack = false

  // Retransmission (RFC 6298)
  readonly rtt: RtoEstimator
  /** The segment being timed ends at this sequence number (null: none, Karn's rule). */
  rttSeq: number | null = null
  /** When that segment was sent. */
  rttStart = 0
  /** Consecutive retransmission timeouts without progress. */
  retries = 0
  /** Segments retransmitted over the connection's life, by timeout, fast retransmit or probe (Linux's tcpi_total_retrans). */
  totalRetransmits = 0

  // What went through, as `ss -ti` shows it (RFC 4898's HCThruOctetsAcked and HCThruOctetsReceived)
  /**
   * Data bytes the peer has acknowledged: SND.UNA - ISS less our SYN and FIN, but counted as
   * SND.UNA moves, so it goes past the 2^32 where sequence numbers wrap.
   */
  bytesAcked = 0
  /** Data bytes received in order: RCV.NXT - IRS less the peer's SYN and FIN, counted likewise. */
  bytesReceived = 0
  /** Segments delivered to the peer, newly cumulatively ACKed or SACKed, retransmissions included (Linux's tp->delivered; delivered.ts). */
  delivered = 0

  // Congestion control and loss recovery (congestion/, recovery/)
  /** The algorithm that owns cwnd and ssthresh (RFC 5681, RFC 9438). */
  cc: CongestionControl
  /** Where we are: 'open' (no loss), 'recovery' (fast recovery, RFC 5681 3.2, RFC 6582, RFC 6675), 'loss' (after an RTO). */
  lossState: LossState = 'open'
  /** Duplicate ACKs in a row (3 trigger a fast retransmit, RFC 5681 3.2). */
  dupAcks = 0
  /** Without SACK: bytes the duplicate ACKs since SND.UNA last moved say arrived, one SMSS each (RFC 6937 3; Linux's sacked_out for Reno). */
  dupDelivered = 0
  /** With SACK: the change the ACK being processed made to the bytes SACKed (RFC 6937 DeliveredData's change_in(SACKd)). */
  sackedChange = 0
  /** The rate reduction of the current fast recovery (RFC 6937). */
  prr: Prr = { delivered: 0, out: 0, recoverFs: 0, sndcnt: 0, lossMarks: 0 }
  /**
   * The reordering seen on this path, in segments (Linux's tp->reordering): the DupThresh
   * in use. 3 (RFC 5681) until a segment is seen to arrive after later ones; then how far.
   */
  reordering = 3
  /** Every segment in flight with the time it was last sent (RFC 8985 6.1; recovery/sent.ts), fed by emit.ts. */
  readonly sent = new SentSegments()
  /** RACK's state (RFC 8985 6.1): the most recent delivery, RACK.rtt, min_RTT, the reordering window. */
  rack: Rack = newRack()
  /** D-SACK blocks received (RFC 2883): segments the peer got twice. */
  dsacksReceived = 0
  /** A duplicate segment arrived: the range our next ACK reports first, as a D-SACK (RFC 2883 4), or null. */
  dsackToSend: SackBlock | null = null
  /** The D-SACK block of the ACK being processed, or null. */
  ackDsack: SackBlock | null = null
  /** RFC 6582 "recover": the highest sequence number sent when the last recovery began. */
  recover = 0
  /** After an RTO: the next sequence number to resend (go-back-N, below `recover`). */
  rtxNext = 0
  /** RFC 6675 HighRxt: the highest sequence number retransmitted in this SACK recovery. */
  highRxt = 0
  /** When the segment at SND.UNA was last retransmitted (ms), or null: to notice a lost retransmission. */
  unaRtxAt: number | null = null
  /** The retransmission timer is armed as a tail loss probe timer (RFC 8985 7), not as the RTO. */
  probeArmed = false
  /** A tail loss probe went out and nothing new has been acknowledged since (one at a time). */
  probeSent = false
  /**
   * cwnd and ssthresh before this recovery, to undo a spurious one: the TSval its first
   * retransmission carried (Eifel, RFC 3522; null once checked or without timestamps) and where
   * that retransmission ends (`firstEnd`, null until it goes), and
   * where its retransmissions started, those not yet reported duplicate by a D-SACK (RFC 3708, Linux's undo_retrans).
   */
  undo: { cwnd: number; ssthresh: number; tsVal: number | null; firstEnd: number | null; retrans: Set<number>; dsacked: boolean } | null = null
  /**
   * A tail loss probe that resent data (RFC 8985 7.4, Linux's tlp_high_seq): SND.NXT when it
   * went, and the flight then; once the ACK reaches `end`, the loss it repaired is answered.
   */
  tlp: { end: number; flight: number } | null = null
  /** TSecr of the ACK being processed (RFC 7323), or undefined: what Eifel detection reads. */
  ackTsEcr: number | undefined = undefined
  /** The last send was held back by cwnd (not by the application): only then may cwnd grow (RFC 9438 5.8, RFC 7661). */
  cwndLimited = false
  /** An ECN congestion response under way (RFC 3168 6.1.2, Linux's CWR state; recovery/cwr.ts), or null. */
  cwr: CwrState | null = null
  /** The largest flight (bytes) sent in the current window, and SND.NXT when it was sent: the window ends once SND.UNA passes it (Linux's max_packets_out, max_packets_seq). */
  maxFlight = 0
  maxFlightSeq = 0
  /** When we last sent data (ms): restart after idle (RFC 5681 4.1). */
  lastDataSent = 0
  /** The SYN or SYN,ACK had to be retransmitted: the initial window is one segment (RFC 5681 3.1). */
  synRetransmitted = false
  /** TCP Fast Open as a client (RFC 7413), or null for a plain three-way handshake (fast-open-client.ts). */
  fastOpen: FastOpenClient | null = null
  /** When our first SYN went (clock ms): a SYN,ACK's TSecr echoes a TSval from then on (input.ts). */
  synSentAt = 0
  /** TCP_SYNCNT: this connection's SYN retransmissions before ETIMEDOUT, or null for the stack's synRetries. */
  synRetries: number | null = null

  // Timers (all on the stack's one timer wheel)
  readonly retransmitTimer: Timer
  readonly delayedAckTimer: Timer
  readonly persistTimer: Timer
  readonly keepaliveTimer: Timer
  /** FIN-WAIT-2 timeout for orphans (Linux's tcp_fin_timeout). 2MSL runs on the TIME-WAIT entry (time-wait.ts). */
  readonly closeTimer: Timer
  /** Pacing (send.ts): releases the next new data once the pacing rate allows it. */
  readonly pacingTimer: Timer
  /** Pacing: the earliest time the next new data may go (ms; Linux's tcp_wstamp_ns). */
  pacingNextAt = 0
  /** Zero-window probes sent without the window opening. */
  persistBackoff = 0
  keepaliveEnabled = false
  keepaliveIdleMs: number
  keepaliveProbesSent = 0
  /** Time of the last segment received (keepalive idleness). */
  lastReceived = 0

  // Counts for TCP_INFO (RFC 4898's tcpEStats names: segments in and out, those with data)
  /** Segments received on this connection, the SYN included; and those carrying data (Linux's segs_in, data_segs_in). */
  segsIn = 0
  dataSegsIn = 0
  /** Segments sent, retransmissions included; and those carrying data (segs_out, data_segs_out). */
  segsOut = 0
  dataSegsOut = 0
  /** The smallest RTT sample (ms) within the last minRttWindowMs, and when it was taken (Linux's tcp_min_rtt). */
  minRtt = Infinity
  minRttAt = 0
  /** The path MTU our segments are sized for: the link's, lowered by ICMP "fragmentation needed" (RFC 1191). */
  pmtu = 1500

  constructor(
    readonly host: TcpHost,
    readonly localAddr: Address,
    readonly localPort: number,
    readonly remoteAddr: Address,
    readonly remotePort: number,
    handlers: { retransmit(): void; delayedAck(): void; persist(): void; keepalive(): void; close(): void; pace(): void },
  ) {
    this.rtt = new RtoEstimator(host.config)
    this.cc = createCongestionControl(host.config.congestionControl, this.sndMss)
    this.keepaliveIdleMs = host.config.keepaliveIdleMs
    this.retransmitTimer = new Timer(handlers.retransmit)
    this.delayedAckTimer = new Timer(handlers.delayedAck)
    this.persistTimer = new Timer(handlers.persist)
    this.keepaliveTimer = new Timer(handlers.keepalive)
    this.closeTimer = new Timer(handlers.close)
    this.pacingTimer = new Timer(handlers.pace)
    this.lastReceived = host.clock.now()
  }

  /** Every state change goes through here: checked against the RFC's arcs, traced, told to the user. */
  setState(to: State, cause: string): void {
    const from = this.state
    if (from === to) return
    if (!isTransition(from, to)) throw new Error(`tcp: no arc ${from} -> ${to} in RFC 9293 (${cause})`)
    this.state = to
    this.host.stateChanged(this, from, to, cause)
    this.user?.onStateChange(from, to, cause)
  }

  /** The application has fully closed; it will read and write no more. */
  get orphaned(): boolean {
    return this.user === null
  }

  /** RCV.WND as last advertised. */
  get rcvWnd(): number {
    return Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt))
  }

  /** Our FIN has been sent and acknowledged. */
  get finAcked(): boolean {
    return this.finSeq !== null && seqGt(this.sndUna, this.finSeq)
  }

  /** Bytes written but not yet sent. */
  get unsentBytes(): number {
    return this.sendBuffer.length - Math.max(0, Math.min(this.sendBuffer.length, seqDiff(this.sndNxt, this.bufSeq)))
  }

  /**
   * The most payload one segment we hand the host may carry: SND.MSS, or with
   * segmentation offload as many whole MSS as fit, for the link to cut at SND.MSS.
   */
  get sendSize(): number {
    const tso = this.host.tsoMaxPayload
    return tso > this.sndMss ? Math.floor(tso / this.sndMss) * this.sndMss : this.sndMss
  }

  /** Room left in the send buffer. */
  get sendSpace(): number {
    return (this.sndBufSize ?? this.host.config.sndBufSize) - this.sendBuffer.length
  }

  /**
   * The receive buffer the window may cover: rcvBufSize, but at most 65535
   * without window scaling, and in a SYN, whose window is never scaled (RFC 7323 2.2).
   */
  rcvSpace(syn = false): number {
    // A shift, not 2 ** n (a call into Math.pow per segment): at most 65,535 << 14, under 2^31.
    const limit = syn || !this.wsOk ? MAX_WINDOW : MAX_WINDOW << this.rcvWndScale
    return Math.min(this.rcvBufSize ?? this.host.config.rcvBufSize, limit)
  }

  /** Receive buffer free now: data delivered but unread, and out-of-order data, take their room. */
  rcvFree(syn = false): number {
    const held = (this.user?.readBuffered() ?? 0) + this.reassembly.bytes
    return Math.max(0, this.rcvSpace(syn) - held)
  }

  /** The window we would offer now: the free buffer, and with config.rcvSsthresh at most rcv_ssthresh, as Linux (receive.ts growWindow). */
  windowOffered(syn = false): number {
    const free = this.rcvFree(syn)
    return syn || !this.host.config.rcvSsthresh ? free : Math.min(free, this.rcvSsthresh)
  }

  /**
   * The window field of an outgoing segment: free receive buffer, with the
   * receiver's silly window syndrome avoidance (RFC 9293 3.8.6.2.2): the right
   * edge moves right only by at least min(half the buffer, one MSS), never left.
   * With window scaling the field is the window shifted right by Rcv.Wind.Shift,
   * rounded up so the right edge still never moves left (RFC 7323 2.3, 2.4).
   */
  windowToAdvertise(syn = false): number {
    this.rcvWndHeldBack = !syn && this.rcvFree(syn) < this.rcvSpace(syn)
    const free = this.windowOffered(syn)
    const proposed = seqAdd(this.rcvNxt, free)
    if (seqDiff(proposed, this.rcvAdv) >= this.swsThreshold(syn)) this.rcvAdv = proposed
    this.rcvAdv = seqMax(this.rcvAdv, this.rcvNxt)
    const unit = syn ? 1 : 1 << this.rcvWndScale
    const field = Math.min(MAX_WINDOW, Math.ceil(this.rcvWnd / unit))
    this.rcvAdv = seqMax(this.rcvAdv, seqAdd(this.rcvNxt, field * unit))
    return field
  }

  /** The smallest move of the right edge worth advertising: min(half the buffer, one MSS) (RFC 9293 3.8.6.2.2). */
  swsThreshold(syn = false): number {
    return Math.min(this.rcvSpace(syn) >> 1, this.rcvMss)
  }

  /** Stop every timer (entering TIME-WAIT or CLOSED). */
  stopTimers(): void {
    const wheel = this.host.wheel
    wheel.disarm(this.retransmitTimer)
    wheel.disarm(this.delayedAckTimer)
    wheel.disarm(this.persistTimer)
    wheel.disarm(this.keepaliveTimer)
    wheel.disarm(this.closeTimer)
    wheel.disarm(this.pacingTimer)
  }

  /** A short label for traces and errors: local and remote ends. */
  get label(): string {
    return `${endpointText(this.localAddr, this.localPort)} ${endpointText(this.remoteAddr, this.remotePort)}`
  }
}
