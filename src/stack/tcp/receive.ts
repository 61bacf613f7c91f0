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
  tcb.unackedSegments += segmentsIn(tcb, length)
  tcb.rcvMssSeen = Math.max(tcb.rcvMssSeen, Math.min(length, fullSize)) // Linux's tcp_measure_rcv_mss, for larger segments
  const config = tcb.host.config
  if (config.quickAck || config.quickAckOnDuplicate) dataReceived(tcb, tcb.rcvWnd + length)
}

/**
 * Linux's receive window growth (config.rcvSsthresh; tcp_grow_window, net/ipv4/tcp_input.c):
 * rcv_ssthresh, the most window we advertise, starts at min(buffer, 65535) and each data
 * segment of 128 bytes or more raises it by twice the larger of the segment and the peer's
 * MSS as seen, up to the buffer. Linux also weighs each arriving buffer's memory overhead
 * (skb truesize, which a userspace stack does not have); here every segment counts as one
 * whose overhead is at most its length, as a NIC's or a TUN device's full-sized ones are.
 * Data in a Fast Open SYN does not grow it (Linux's tcp_fastopen_add_skb does not either).
 */
export function growWindow(tcb: Tcb, length: number): void {
  if (!tcb.host.config.rcvSsthresh || length < 128) return
  const room = tcb.rcvSpace() - tcb.rcvSsthresh
  if (room > 0) tcb.rcvSsthresh += Math.min(room, 2 * Math.max(tcb.rcvMssSeen, length))
}

/** How many segments of full size `length` bytes of data stand for (at least 1): an offloaded segment counts as the ones it carries. */
export function segmentsIn(tcb: Tcb, length: number): number {
  const fullSize = tcb.tsOk ? tcb.rcvMss - TIMESTAMPS_LENGTH : tcb.rcvMss
  return Math.max(1, Math.ceil(length / fullSize))
}

/** Delayed ACK (RFC 9293 3.8.6.3): ACK at least every second segment, else within delayedAckMs; at once in quick-ACK mode. */
export function delayedAck(tcb: Tcb): void {
  if (ackDueNow(tcb)) ackSoon(tcb)
  else if (tcb.unackedSegments > 0 && !tcb.delayedAckTimer.armed) tcb.host.wheel.arm(tcb.delayedAckTimer, tcb.host.config.delayedAckMs)
}

/** An ACK is owed at once: two or more segments unacknowledged, or one in quick-ACK mode. */
export function ackDueNow(tcb: Tcb): boolean {
  return tcb.unackedSegments >= 2 || (tcb.unackedSegments > 0 && inQuickAck(tcb))
}

// ---- quick-ACK mode (Linux, net/ipv4/tcp_input.c) ----

/** Linux's TCP_MAX_QUICKACKS (tcp_input.c): the most segments one quick-ACK period covers. */
export const MAX_QUICK_ACKS = 16
/** Linux's TCP_MSS_DEFAULT: the MSS guessed for the peer before a full segment is seen. */
const MSS_GUESS = 536

/**
 * In-order data arrived (Linux's tcp_event_data_recv): the first data of the connection, or
 * data after a silence longer than the RTO (the sender's window must restart), starts a
 * quick-ACK period, so the sender's slow start gets an ACK per segment.
 */
function dataReceived(tcb: Tcb, window: number): void {
  const now = tcb.host.clock.now()
  // Interactive (Linux's pingpong mode): we sent data within the delayed-ACK time of the last
  // data received, so our replies carry the ACKs; no quick ACKs then.
  const last = tcb.lastDataReceived
  const replied = last !== null && tcb.sndNxt !== tcb.sndNxtAtLastData // new data went out since
  tcb.pingpong = replied && tcb.lastDataSent - last! < tcb.host.config.delayedAckMs
  if (tcb.host.config.quickAck && (last === null || now - last > tcb.rtt.rto)) addQuickAcks(tcb, window)
  tcb.lastDataReceived = now
  tcb.sndNxtAtLastData = tcb.sndNxt
}

/**
 * Linux's tcp_incr_quickack: ACK at once for the next window / (2 * MSS) data segments (the
 * ACKs a sender needs to open the window we advertised, in slow start), at least 2, at most 16.
 */
function addQuickAcks(tcb: Tcb, window = tcb.rcvWnd): void {
  const mss = Math.min(Math.max(tcb.rcvMssSeen, MSS_GUESS), tcb.rcvMss)
  const n = Math.min(Math.floor(window / (2 * mss)) || 2, MAX_QUICK_ACKS)
  tcb.quickAcks = Math.max(tcb.quickAcks, n)
}

/**
 * Linux's tcp_enter_quickack_mode, from tcp_send_dupack: the peer sent again data we had, or
 * data beyond the window: our ACK was lost or the sender is stuck, so ACK at once for a while,
 * and the connection is no longer taken as interactive (config.quickAckOnDuplicate).
 */
export function dataAgain(tcb: Tcb): void {
  if (tcb.host.config.quickAckOnDuplicate) enterQuickAck(tcb)
}

function enterQuickAck(tcb: Tcb): void {
  tcb.pingpong = false
  addQuickAcks(tcb)
}

/**
 * The ACK of a SYN,ACK waits for the data about to go (input.ts, SYN-SENT), as Linux's
 * tcp_rcv_synsent_state_process saves it while a write is pending: quick-ACK mode, and the
 * SYN,ACK's arrival counts as the last data received, as tcp_finish_connect sets lrcvtime,
 * so the data we send at once makes the connection interactive (pingpong) and the peer's
 * reply gets a delayed ACK.
 */
export function synAckAckSaved(tcb: Tcb): void {
  if (tcb.host.config.quickAck) enterQuickAck(tcb)
  tcb.lastDataReceived = tcb.host.clock.now()
  tcb.sndNxtAtLastData = tcb.sndNxt
}

/** Linux's tcp_in_quickack_mode: quick ACKs left, and the connection not interactive. */
function inQuickAck(tcb: Tcb): boolean {
  return tcb.quickAcks > 0 && !tcb.pingpong
}

/** In-order text to the application: a copy, since the packet's buffer is the link's (reused for the next batch). */
export function deliver(tcb: Tcb, data: Uint8Array): void {
  tcb.bytesReceived += data.length
  tcb.user?.onData(copyOf(data))
}

/**
 * A Buffer copy of `data`. A small one goes into Node's shared pool (Buffer.allocUnsafe takes
 * from it below half its 8 KiB): no ArrayBuffer of its own per segment, as Node's sockets hand
 * out small reads. A large one (an offloaded 64 KiB packet) gets its own, copied by slice.
 */
function copyOf(data: Uint8Array): Buffer {
  if (data.length < Buffer.poolSize >>> 1) {
    const copy = Buffer.allocUnsafe(data.length)
    copy.set(data)
    return copy
  }
  const copy = Uint8Array.prototype.slice.call(data)
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength)
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
