// The user calls of RFC 9293 3.10.1 to 3.10.6: OPEN, SEND, CLOSE, ABORT, and
// the receive side's "the application read some data" (RECEIVE).

import { defaultMss, tcpOverhead } from '../wire/address.js'
import { sendAck, sendAbortReset } from './emit.js'
import { output } from './send.js'
import { TcpError, type Tcb } from './tcb.js'
import { seqAdd } from './seq.js'
import { armFinWait2Timeout, enterClosed } from './timers.js'
import { abortTimeWait } from './time-wait.js'
import { planFastOpen, sendFirstSyn } from './fast-open-client.js'

/**
 * Active OPEN (3.10.1): choose ISS, send SYN, enter SYN-SENT. With `fastOpen` (RFC 7413) the
 * SYN may carry the server's cookie and data; when it can, it waits for the first SEND
 * (as Linux's TCP_FASTOPEN_CONNECT), or for CLOSE or startSyn().
 */
export function openActive(tcb: Tcb, iss: number, mtu: number, fastOpen = false): void {
  tcb.iss = iss
  tcb.sndUna = iss
  tcb.sndNxt = seqAdd(iss, 1)
  tcb.bufSeq = seqAdd(iss, 1)
  tcb.rcvMss = mtu - tcpOverhead(tcb.remoteAddr) // 40 bytes of headers over IPv4, 60 over IPv6
  tcb.pmtu = mtu
  tcb.sndMss = defaultMss(tcb.remoteAddr) // until the peer's MSS option says otherwise (RFC 9293 3.7.1)
  tcb.setState('SYN-SENT', 'active OPEN')
  if (fastOpen) tcb.fastOpen = planFastOpen(tcb)
  if (tcb.fastOpen?.deferred) return
  sendFirstSyn(tcb)
}

/** A Fast Open SYN still waiting for data goes now, with what is queued (perhaps nothing). */
export function startSyn(tcb: Tcb): void {
  if (tcb.state === 'SYN-SENT' && tcb.fastOpen?.deferred) sendFirstSyn(tcb)
}

/** SEND (3.10.2): queue the data; it goes out as the window allows, or in a Fast Open SYN that waited for it. */
export function send(tcb: Tcb, data: Uint8Array): void {
  if (tcb.finQueued || tcb.state === 'CLOSED') return
  tcb.sendBuffer.append(data)
  if (tcb.fastOpen?.deferred) return startSyn(tcb)
  if (tcb.host.holdOutput?.(tcb) === true) return // at the end of the link's batch, with what follows it
  output(tcb)
}

/**
 * CLOSE (3.10.4): no more data from us. A FIN follows the queued data; the state
 * moves at once (ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK).
 */
export function close(tcb: Tcb): void {
  if (tcb.finQueued) return
  switch (tcb.state) {
    case 'SYN-SENT':
      return enterClosed(tcb, null, 'CLOSE in SYN-SENT')
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      tcb.finQueued = true
      tcb.setState('FIN-WAIT-1', 'CLOSE')
      return closeOutput(tcb)
    case 'CLOSE-WAIT':
      tcb.finQueued = true
      tcb.setState('LAST-ACK', 'CLOSE')
      return closeOutput(tcb)
    default:
      return // already closing: "error: connection closing"
  }
}

/** The FIN goes now, or at the end of the link's batch with the data sent in it (one segment). */
function closeOutput(tcb: Tcb): void {
  if (tcb.host.holdOutput?.(tcb) === true) return
  output(tcb)
}

/** ABORT (3.10.5): RST in the synchronized states, then CLOSED. */
export function abort(tcb: Tcb, error: TcpError | null = null): void {
  // In TIME-WAIT the connection is its compact entry now (time-wait.ts): that goes, silently.
  if (tcb.timeWait !== null) return abortTimeWait(tcb.timeWait)
  switch (tcb.state) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
    case 'FIN-WAIT-1':
    case 'FIN-WAIT-2':
    case 'CLOSE-WAIT':
      sendAbortReset(tcb)
      break
  }
  enterClosed(tcb, error, 'ABORT')
}

/**
 * The application let go of the connection (its socket is destroyed after a
 * clean end): the TCB finishes the close on its own and then is deleted.
 */
export function orphan(tcb: Tcb): void {
  tcb.user = null
  if (tcb.timeWait !== null) tcb.timeWait.user = null // the entry waits out 2MSL alone
  armFinWait2Timeout(tcb)
}

/**
 * The application read data (RECEIVE, 3.10.3): the window may have opened.
 * A window update goes out only when it matters, so a sender stopped by a
 * small or zero window need not wait for its persist timer, yet reads do not
 * each cost an ACK: the window now advertised is under half the buffer, and the
 * right edge can move by at least min(half the buffer, one MSS) (receiver SWS
 * avoidance, 3.8.6.2.2) and at least double the window (as Linux's tcp_cleanup_rbuf).
 * Otherwise the next segment we send carries the new window anyway.
 */
export function received(tcb: Tcb): void {
  if (tcb.state !== 'ESTABLISHED' && tcb.state !== 'FIN-WAIT-1' && tcb.state !== 'FIN-WAIT-2') return
  // Only data held back the window we advertised can reading open it (not a SYN's unscaled 64 KiB).
  if (!tcb.rcvWndHeldBack) return
  const current = tcb.rcvWnd
  if (current * 2 > tcb.rcvSpace()) return
  const free = tcb.windowOffered()
  if (free - current >= tcb.swsThreshold() && free >= 2 * current) sendAck(tcb)
}

/** setNoDelay: Nagle's algorithm off (true) or on (false) (RFC 9293 3.7.4); turning it off sends what it held. */
export function setNoDelay(tcb: Tcb, noDelay: boolean): void {
  tcb.noDelay = noDelay
  if (noDelay) output(tcb)
}

/** Turn keepalive on or off (setKeepAlive), optionally with a new idle time. */
export function setKeepAlive(tcb: Tcb, enable: boolean, idleMs?: number): void {
  tcb.keepaliveEnabled = enable
  if (idleMs !== undefined && idleMs > 0) tcb.keepaliveIdleMs = idleMs
  if (enable) tcb.host.wheel.arm(tcb.keepaliveTimer, tcb.keepaliveIdleMs)
  else tcb.host.wheel.disarm(tcb.keepaliveTimer)
}

export { TcpError }

/**
 * TCP_CORK: while corked only full-sized segments go; a partial one waits for the uncork,
 * or for the persist timer when nothing is in flight (Linux's TCP_NAGLE_CORK and its
 * probe timer). Uncorking pushes what was held at once, as Linux's tcp_push_pending_frames.
 */
export function setCork(tcb: Tcb, cork: boolean): void {
  tcb.corked = cork
  if (!cork) output(tcb, true)
}

/** TCP_USER_TIMEOUT (RFC 5482): abort once sent data stays unacknowledged `ms` long; 0 restores the retry count. */
export function setUserTimeout(tcb: Tcb, ms: number): void {
  tcb.userTimeoutMs = ms
}

/** MSG_EOR: the data queued so far ends a record; no segment carries bytes of the next one with it. */
export function endRecord(tcb: Tcb): void {
  tcb.sendBuffer.markRecordEnd()
}
