// The receive side, as gVisor's rcv.go: in-order text handed to the application, and when
// to acknowledge it. The delayed ACK of RFC 9293 3.8.6.3 (at least every second full-sized
// segment, else within delayedAckMs), the immediate ACK of RFC 5681 4.2 (text dropped, a gap
// filled), and ACK coalescing over a batch of packets (tcp-layer.ts holdAck). The text step
// itself, in the RFC's order, is input.ts processTextAndFin; the ACK is built by emit.ts.

import { sendAck } from './emit.js'
import { TIMESTAMPS_LENGTH } from './options.js'
import type { Tcb } from './tcb.js'

/**
 * In-order text received: count it toward the next ACK in full-sized segments, rounded up.
 * One large (offloaded) segment may be many, and one larger than a full segment is ACKed at
 * once, as Linux does. A full segment carries our MSS less the peer's TSopt when timestamps
 * are on (RFC 7323).
 */
export function countReceived(tcb: Tcb, length: number): void {
  const fullSize = tcb.tsOk ? tcb.rcvMss - TIMESTAMPS_LENGTH : tcb.rcvMss
  tcb.unackedSegments += Math.ceil(length / fullSize)
}

/** Delayed ACK (RFC 9293 3.8.6.3): ACK at least every second segment, else within delayedAckMs. */
export function delayedAck(tcb: Tcb): void {
  if (tcb.unackedSegments >= 2) ackSoon(tcb)
  else if (tcb.unackedSegments > 0 && !tcb.delayedAckTimer.armed) tcb.host.wheel.arm(tcb.delayedAckTimer, tcb.host.config.delayedAckMs)
}

/** In-order text to the application: a copy, since the packet's buffer is the link's (reused for the next batch). */
export function deliver(tcb: Tcb, data: Uint8Array): void {
  tcb.bytesReceived += data.length
  tcb.user?.onData(Uint8Array.prototype.slice.call(data))
}

/** An ACK owed by the text step goes out now (or at the end of the batch) if output() sent nothing to carry it. */
export function ackIfOwedNow(tcb: Tcb): void {
  if (tcb.unackedSegments >= 2 && tcb.state !== 'CLOSED') ackSoon(tcb)
}

/**
 * An ACK due at once for segments just received: every second full-sized one (RFC 9293
 * 3.8.6.3), or text dropped or a gap filled (RFC 5681 4.2). While the link hands the stack a
 * batch of packets, the host holds it to the end of the batch (ACK coalescing, tcp-layer.ts),
 * so a connection that got several segments in one batch answers with one ACK covering all.
 */
export function ackSoon(tcb: Tcb): void {
  if (tcb.host.holdAck?.(tcb) === true) return
  sendAck(tcb)
}
