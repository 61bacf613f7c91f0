// What happens when a timer fires (RFC 9293 3.10.8, "timeouts"), plus the
// helpers that enter TIME-WAIT and CLOSED, which the timers and input share.

import { output, persistDelay, retransmit, sendAck, sendProbe, sendReset, sendSegmentAt } from './output'
import { TcpError, type Tcb } from './tcb'
import { seqAdd } from './seq'
import type { State } from './state'

/** RFC 6298 5.4-5.7: resend the oldest unacknowledged segment, back off, give up after too many tries. */
export function onRetransmitTimeout(tcb: Tcb): void {
  if (tcb.sndUna === tcb.sndNxt) return
  const opening = tcb.state === 'SYN-SENT' || tcb.state === 'SYN-RECEIVED'
  const limit = opening ? tcb.host.config.synRetries : tcb.host.config.dataRetries
  if (tcb.retries >= limit) {
    if (tcb.state === 'SYN-RECEIVED' && tcb.passive) return enterClosed(tcb, null, 'SYN,ACK never acknowledged')
    return enterClosed(tcb, new TcpError('ETIMEDOUT', `connection to ${tcb.label} timed out`), 'retransmission timeout')
  }
  tcb.retries++
  tcb.rtt.backOff()
  tcb.rttSeq = null // Karn: a retransmitted segment is never timed
  tcb.dupAcks = 0
  // Everything in flight may be lost: resend from SND.UNA, one segment now and more as ACKs return.
  tcb.recoverSeq = tcb.sndNxt
  tcb.rtxNext = tcb.sndUna
  retransmit(tcb, 1)
  tcb.host.wheel.arm(tcb.retransmitTimer, tcb.rtt.rto)
}

/** The delayed ACK is due (RFC 9293 3.8.6.3). */
export function onDelayedAck(tcb: Tcb): void {
  if (tcb.unackedSegments > 0) sendAck(tcb)
}

/** Zero-window probe (RFC 9293 3.8.6.1): the peer must answer with its current window. */
export function onPersist(tcb: Tcb): void {
  if (tcb.sndWnd > 0 || tcb.sndUna !== tcb.sndNxt) return output(tcb)
  sendProbe(tcb)
  tcb.persistBackoff++
  tcb.host.wheel.arm(tcb.persistTimer, persistDelay(tcb))
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
    sendReset(tcb)
    return enterClosed(tcb, new TcpError('ETIMEDOUT', `connection to ${tcb.label} timed out (keepalive)`), 'keepalive timeout')
  }
  tcb.keepaliveProbesSent++
  sendProbe(tcb)
  tcb.host.wheel.arm(tcb.keepaliveTimer, config.keepaliveIntervalMs)
}

/** The close timer: 2MSL ended in TIME-WAIT, or an orphan waited too long in FIN-WAIT-2. */
export function onCloseTimer(tcb: Tcb): void {
  if (tcb.state === 'TIME-WAIT') return enterClosed(tcb, null, '2MSL timeout')
  if (tcb.state === 'FIN-WAIT-2') {
    sendReset(tcb) // as Linux does when tcp_fin_timeout ends an orphan
    return enterClosed(tcb, null, 'FIN-WAIT-2 timeout')
  }
}

/** Enter TIME-WAIT (RFC 9293 3.10.7.4, eighth step): only the 2MSL timer runs, buffers go. */
export function enterTimeWait(tcb: Tcb, cause: string): void {
  tcb.setState('TIME-WAIT', cause)
  tcb.stopTimers()
  tcb.sendBuffer.clear()
  tcb.reassembly.clear()
  tcb.host.wheel.arm(tcb.closeTimer, 2 * tcb.host.config.mslMs)
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

/** Resend the segment at SND.UNA after three duplicate ACKs (RFC 5681 3.2). */
export function fastRetransmit(tcb: Tcb): void {
  tcb.recoverSeq = tcb.sndNxt
  tcb.rtxNext = tcb.sndUna
  tcb.rttSeq = null
  retransmit(tcb, 1)
}

/** Has this state sent its SYN and is waiting for the handshake? */
export function isOpening(state: State): boolean {
  return state === 'SYN-SENT' || state === 'SYN-RECEIVED'
}

