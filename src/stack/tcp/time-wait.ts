// TIME-WAIT, made small. The rules are RFC 9293's (3.10.7.4, and 3.6.1 for the
// reopening SYN); the idea is Linux's inet_timewait_sock.
//
// A connection in TIME-WAIT has sent and received everything. For 2 x MSL it only
// has to ACK a retransmitted FIN, ignore a RST (RFC 1337), judge a new SYN for the
// same 4-tuple, and then go. None of that needs the send and receive buffers, the
// five timers, the RTT and congestion state or the socket. So enterTimeWait
// (timers.ts) lets the TCB go and the connection table holds this entry in its
// place: the 4-tuple, the numbers our ACK carries (SND.NXT, RCV.NXT, the window,
// the timestamps), what a new SYN is judged by (RCV.NXT, TS.Recent), and the 2MSL
// timer, which is the entry itself: it extends Timer, so the timer wheel links the
// entry directly and no closure is made per connection. About 220 bytes of heap
// against about 3.1 KB for the whole TCB (docs/performance.md, "Memory").

import type { Address } from '../wire/address.js'
import type { Clock } from '../time/clock.js'
import { Timer, type TimerWheel } from '../time/timer-wheel.js'
import type { Counters } from '../counters.js'
import { ACK, FIN, RST, SYN, type TcpSegment } from '../wire/tcp.js'
import type { TcpConfig } from './config.js'
import { seqAdd, seqGt } from './seq.js'
import type { OutSegment, Tcb, TcbUser } from './tcb.js'

/** What an entry needs from the TCP layer around it. */
export interface TimeWaitHost {
  readonly clock: Clock
  readonly wheel: TimerWheel
  readonly config: TcpConfig
  readonly counters: Counters
  /** Send a segment on the entry's 4-tuple. */
  transmitTimeWait(tw: TimeWait, seg: OutSegment): void
  /** The entry reached CLOSED: forget it and report the state change. */
  timeWaitClosed(tw: TimeWait, cause: string): void
}

/** The 2MSL timer fired. Called as `timer.callback()` by the wheel, so `this` is the entry. */
function expire(this: TimeWait): void {
  closeTimeWait(this, '2MSL timeout')
}

export class TimeWait extends Timer {
  /** TIME-WAIT until 2MSL ends (or a new SYN or ABORT ends it early), then CLOSED. */
  state: 'TIME-WAIT' | 'CLOSED' = 'TIME-WAIT'
  /** The application's socket while it still holds it (it is told of TIME-WAIT -> CLOSED); null once it let go. */
  user: TcbUser | null
  /** Our end: the stack's address, or in any-destination mode the one the peer meant. */
  readonly localAddr: Address
  readonly localPort: number
  readonly remoteAddr: Address
  readonly remotePort: number
  /** SND.NXT: just past our FIN, which the peer has acknowledged. The SEQ of every ACK we send. */
  readonly sndNxt: number
  /** RCV.NXT: just past the peer's FIN. The ACK we send, and the mark a new SYN must pass. */
  readonly rcvNxt: number
  /** The window field of our ACKs (already scaled): the last one the TCB advertised. */
  readonly window: number
  /** TS.Recent (RFC 7323 4.3), the peer's last TSval: echoed in our ACKs, and RFC 6191's mark for a new SYN. Null without timestamps. */
  readonly tsRecent: number | null
  /** Added to the clock for our TSvals (RFC 7323 7.1), as the TCB did. */
  readonly tsOffset: number

  /** The entry for a TCB entering TIME-WAIT: it copies what it needs and keeps no reference to the TCB. */
  constructor(readonly host: TimeWaitHost, tcb: Tcb) {
    super(expire)
    this.user = tcb.user
    this.localAddr = tcb.localAddr
    this.localPort = tcb.localPort
    this.remoteAddr = tcb.remoteAddr
    this.remotePort = tcb.remotePort
    this.sndNxt = tcb.sndNxt
    this.rcvNxt = tcb.rcvNxt
    this.window = tcb.windowToAdvertise()
    this.tsRecent = tcb.tsOk ? tcb.tsRecent : null
    this.tsOffset = tcb.tsOffset
  }

  /** Stop the 2MSL timer (Stack.shutdown); the entry stays until the stack goes. */
  stopTimers(): void {
    this.host.wheel.disarm(this)
  }
}

/** Start, or restart, the 2 x MSL wait (RFC 9293 3.10.7.4, eighth step). */
export function restart2Msl(tw: TimeWait): void {
  tw.host.wheel.arm(tw, 2 * tw.host.config.mslMs)
}

/**
 * SEGMENT ARRIVES in TIME-WAIT (RFC 9293 3.10.7.4, the steps that still apply).
 * A SYN that may open a new incarnation is taken out before this (synMayReopen).
 */
export function timeWaitArrives(tw: TimeWait, seg: TcpSegment): void {
  // Second step: RFC 1337 (TIME-WAIT assassination): a RST here is ignored.
  if (seg.flags & RST) return tw.host.counters.drop('tcp-rst-in-time-wait')
  // Eighth step: "the only thing that can arrive in this state is a retransmission
  // of the remote FIN. Acknowledge it, and restart the 2 MSL timeout."
  const finEnd = seqAdd(seg.seq, seg.payload.length + 1)
  if (seg.flags & FIN && finEnd === tw.rcvNxt) {
    sendTimeWaitAck(tw)
    return restart2Msl(tw)
  }
  // An old duplicate, or a SYN that may not reopen: our ACK tells the peer where we are.
  if (seg.flags & SYN || seg.payload.length > 0 || seg.flags & FIN) sendTimeWaitAck(tw)
}

/**
 * May this SYN end the TIME-WAIT and open a new incarnation of the connection
 * (RFC 9293 3.6.1, RFC 1122 4.2.2.13)? A bare SYN only, and one newer than
 * anything of the old incarnation. RFC 6191 2, when both incarnations use
 * timestamps: a TSval greater than TS.Recent reopens; a TSval equal to it (a peer
 * whose TS clock has not ticked since) reopens if the sequence number is greater;
 * an older TSval never does. Otherwise by the sequence number alone.
 */
export function synMayReopen(tw: TimeWait, seg: TcpSegment): boolean {
  if ((seg.flags & (SYN | ACK | RST)) !== SYN) return false
  const ts = seg.options.timestamp
  // Timestamps compare modulo 2^32, as sequence numbers do (RFC 7323 5.2).
  if (tw.tsRecent !== null && ts !== undefined && ts.value !== tw.tsRecent) return seqGt(ts.value, tw.tsRecent)
  return seqGt(seg.seq, tw.rcvNxt)
}

/** TIME-WAIT -> CLOSED: 2MSL ended, a new SYN took the 4-tuple, or the application aborted. */
export function closeTimeWait(tw: TimeWait, cause: string): void {
  if (tw.state === 'CLOSED') return
  tw.host.wheel.disarm(tw)
  tw.state = 'CLOSED'
  tw.host.timeWaitClosed(tw, cause)
  const user = tw.user
  tw.user = null
  user?.onStateChange('TIME-WAIT', 'CLOSED', cause)
  user?.onClosed(null)
}

/** ABORT in TIME-WAIT (RFC 9293 3.10.5: nothing is sent): the entry goes; the application that asked is not told back. */
export function abortTimeWait(tw: TimeWait): void {
  tw.user = null
  closeTimeWait(tw, 'ABORT')
}

/** <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with our timestamps when the connection used them (RFC 7323 3.2). */
function sendTimeWaitAck(tw: TimeWait): void {
  const seg: OutSegment = { seq: tw.sndNxt, ack: tw.rcvNxt, flags: ACK, window: tw.window }
  if (tw.tsRecent !== null) {
    // TSval as options.ts tsVal() makes it: the clock in ms plus the connection's offset.
    seg.options = { timestamp: { value: seqAdd(Math.floor(tw.host.clock.now()), tw.tsOffset), echo: tw.tsRecent } }
  }
  tw.host.transmitTimeWait(tw, seg)
}
