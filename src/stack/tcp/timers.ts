// What happens when a timer fires (RFC 9293 3.10.8, "timeouts"), plus the
// helpers that enter TIME-WAIT and CLOSED, which the timers and input share.

import { retransmissionTimeout, tailLossProbe } from './recovery/timeouts.js'
import { sendAck, sendProbe, sendAbortReset } from './emit.js'
import { output, persistDelay } from './send.js'
import { TcpError, type Tcb } from './tcb.js'
import type { State } from './state.js'

/** RFC 6298 5.4-5.7: resend the oldest unacknowledged segment, back off, give up after too many tries. */
export function onRetransmitTimeout(tcb: Tcb): void {
  if (tcb.sndUna === tcb.sndNxt) return
  if (tailLossProbe(tcb)) return // the timer was a probe timer (RFC 8985 7), not yet the RTO
  const opening = tcb.state === 'SYN-SENT' || tcb.state === 'SYN-RECEIVED'
  const config = tcb.host.config
  const limit = opening ? tcb.synRetries ?? config.synRetries : config.dataRetries
  // The peer shrank its window to zero under data in flight (RFC 1122 4.2.2.16): our
  // retransmissions now probe that window, and while the peer answers them the
  // connection must stay open (4.2.2.17). Give up only after a maximum RTO of silence,
  // as Linux does; an orphan is not kept alive this way.
  const probing = tcb.sndWnd === 0 && !opening && !tcb.orphaned
  const now = tcb.host.clock.now()
  const heard = now - tcb.lastReceived <= config.maxRtoMs
  // TCP_USER_TIMEOUT (RFC 5482), as Linux's retransmits_timed_out: the time since the oldest
  // unacknowledged data was sent (about one RTO before the first timeout) decides, not the count.
  if (tcb.retries === 0) tcb.retransStamp = now - tcb.rtt.rto
  const userTimeout = tcb.userTimeoutMs > 0 && !opening
  const expired = userTimeout ? now - tcb.retransStamp >= tcb.userTimeoutMs : tcb.retries >= limit && !(probing && heard)
  if (expired) {
    if (tcb.state === 'SYN-RECEIVED' && tcb.passive) return enterClosed(tcb, null, 'SYN,ACK never acknowledged')
    // An ICMP soft error seen meanwhile says better why (RFC 1122 4.2.3.9, as Linux's sk_err_soft).
    return enterClosed(tcb, tcb.softError ?? new TcpError('ETIMEDOUT', `connection to ${tcb.label} timed out`), 'retransmission timeout')
  }
  tcb.retries++
  tcb.rtt.backOff()
  // Everything in flight may be lost: cwnd falls to one segment and SND.UNA goes
  // again now; the rest follows as ACKs reopen the window (recovery/timeouts.ts).
  retransmissionTimeout(tcb)
  // No later than the user timeout's end (Linux's tcp_clamp_rto_to_user_timeout).
  const left = userTimeout ? Math.max(1, tcb.retransStamp + tcb.userTimeoutMs - now) : Infinity
  tcb.host.wheel.arm(tcb.retransmitTimer, Math.min(tcb.rtt.rto, left))
}

/** The delayed ACK is due (RFC 9293 3.8.6.3). */
export function onDelayedAck(tcb: Tcb): void {
  if (tcb.unackedSegments === 0) return
  tcb.host.counters.delayedAcks++
  sendAck(tcb)
}

/** Zero-window probe (RFC 9293 3.8.6.1): the peer must answer with its current window. */
export function onPersist(tcb: Tcb): void {
  if (tcb.sndUna !== tcb.sndNxt) return output(tcb)
  // The window is open but too small for sender SWS avoidance: this is its override timeout (3.8.6.2.1).
  if (tcb.sndWnd > 0) return output(tcb, true)
  sendProbe(tcb)
  tcb.persistBackoff++
  tcb.host.wheel.arm(tcb.persistTimer, persistDelay(tcb))
}

/** The pacing timer (send.ts): the rate allows the next new data now. */
export function onPacingTimer(tcb: Tcb): void {
  output(tcb)
}

/** Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6): probe an idle connection, give up after enough silence. */
export function onKeepalive(tcb: Tcb): void {
  const config = tcb.host.config
  if (!tcb.keepaliveEnabled) return
  // Enabled before the handshake finished: keep waiting, so probing starts once ESTABLISHED.
  if (isOpening(tcb.state)) return tcb.host.wheel.arm(tcb.keepaliveTimer, tcb.keepaliveIdleMs)
  if (tcb.state !== 'ESTABLISHED' && tcb.state !== 'CLOSE-WAIT') return
  const idle = tcb.host.clock.now() - tcb.lastReceived
  if (idle < tcb.keepaliveIdleMs) {
    tcb.keepaliveProbesSent = 0
    tcb.host.wheel.arm(tcb.keepaliveTimer, tcb.keepaliveIdleMs - idle)
    return
  }
  if (tcb.keepaliveProbesSent >= config.keepaliveProbes) {
    sendAbortReset(tcb)
    return enterClosed(tcb, new TcpError('ETIMEDOUT', `connection to ${tcb.label} timed out (keepalive)`), 'keepalive timeout')
  }
  tcb.keepaliveProbesSent++
  sendProbe(tcb)
  tcb.host.wheel.arm(tcb.keepaliveTimer, config.keepaliveIntervalMs)
}

/** The close timer: an orphan waited too long in FIN-WAIT-2. (2MSL is the TIME-WAIT entry's own timer, time-wait.ts.) */
export function onCloseTimer(tcb: Tcb): void {
  if (tcb.state === 'FIN-WAIT-2') {
    sendAbortReset(tcb) // as Linux does when tcp_fin_timeout ends an orphan
    return enterClosed(tcb, null, 'FIN-WAIT-2 timeout')
  }
}

/**
 * Enter TIME-WAIT (RFC 9293 3.10.7.4, eighth step). The TCB's timers stop and its
 * buffers go; then a compact entry takes its place for the 2MSL wait (time-wait.ts),
 * and the TCB itself is let go.
 */
export function enterTimeWait(tcb: Tcb, cause: string): void {
  tcb.setState('TIME-WAIT', cause)
  tcb.stopTimers()
  tcb.sendBuffer.clear()
  tcb.reassembly.clear()
  // Unless the application aborted from its 'state' handler (then it is CLOSED already).
  if (tcb.state === 'TIME-WAIT') tcb.host.timeWait(tcb)
}

/** Arm the FIN-WAIT-2 timeout when an orphan waits there (Linux tcp_fin_timeout). */
export function armFinWait2Timeout(tcb: Tcb): void {
  if (tcb.state === 'FIN-WAIT-2' && tcb.orphaned) tcb.host.wheel.arm(tcb.closeTimer, tcb.host.config.finWait2TimeoutMs)
}

/** Enter CLOSED: delete the TCB (the host forgets it on this state change) and tell the user why. */
export function enterClosed(tcb: Tcb, error: TcpError | null, cause: string): void {
  if (tcb.state === 'CLOSED') return
  tcb.stopTimers()
  tcb.sendBuffer.clear()
  tcb.reassembly.clear()
  if (error !== null) {
    tcb.error = error
    tcb.host.counters.connectionFailures++
  }
  tcb.setState('CLOSED', cause)
  const user = tcb.user
  tcb.user = null
  user?.onClosed(error)
}

/** Has this state sent its SYN and is waiting for the handshake? */
export function isOpening(state: State): boolean {
  return state === 'SYN-SENT' || state === 'SYN-RECEIVED'
}

