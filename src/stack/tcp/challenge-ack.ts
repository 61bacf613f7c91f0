// Challenge ACKs (RFC 5961): the answer to a segment that could be a blind
// attack. A RST or a SYN that is in the window but not exactly where we expect
// it, or an ACK for data we never sent or sent long ago, is dropped, and we send
// an ordinary ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> instead. A real peer
// that lost its state answers it with a RST at exactly RCV.NXT (which we
// accept); an attacker who does not see our traffic learns nothing from it.
//
// RFC 5961 section 7 asks for a limit on how many challenge ACKs are sent, so a
// flood of spoofed segments cannot turn us into an ACK cannon. Like Linux's
// net.ipv4.tcp_challenge_ack_limit it is one budget per stack per second. A
// fixed shared budget is a side channel (CVE-2016-5696: an off-path attacker
// counted how many challenge ACKs were left to learn whether a guess was in
// the window), so, as Linux does since that report, each second's budget is
// drawn at random between half and one and a half times the limit.

import type { Clock } from '../time/clock.js'
import type { Counters } from '../counters.js'
import type { Random } from '../random.js'
import { sendAck } from './emit.js'
import type { Tcb } from './tcb.js'

/** One per stack: how many challenge ACKs may still go out in the current second. */
export class ChallengeAckLimiter {
  /** Start of the current one-second period (clock ms). */
  private periodStart = -Infinity
  /** Challenge ACKs left in this period. */
  private left = 0

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    /** Average challenge ACKs per second (tcp_challenge_ack_limit); 0 sends none, Infinity never limits. */
    private readonly perSecond: number,
  ) {}

  /** May one more challenge ACK go out now? Uses up one of this second's budget. */
  take(): boolean {
    const now = this.clock.now()
    if (now - this.periodStart >= 1000) {
      this.periodStart = now
      this.left = this.budget()
    }
    if (this.left <= 0) return false
    this.left--
    return true
  }

  /** A budget between perSecond/2 and 3*perSecond/2, fresh each second (Linux after CVE-2016-5696). */
  private budget(): number {
    if (!Number.isFinite(this.perSecond)) return Infinity
    const limit = Math.max(0, Math.floor(this.perSecond))
    if (limit === 0) return 0
    return (limit >> 1) + (this.random.nextUint32() % (limit + 1))
  }
}

/**
 * Drop the segment (counted under `reason`) and send a challenge ACK if the
 * stack's budget allows (RFC 5961 3.2, 4.2, 5.2 and section 7).
 */
export function challengeAck(tcb: Tcb, reason: string): void {
  const counters: Counters = tcb.host.counters
  counters.drop(reason)
  const limiter = tcb.host.challengeAcks
  if (limiter !== undefined && !limiter.take()) {
    counters.challengeAcksLimited++
    return
  }
  counters.challengeAcksSent++
  sendAck(tcb)
}
