// SEGMENT ARRIVES for a connection that has a TCB (RFC 9293 3.10.7.3 and
// 3.10.7.4), step by step in the RFC's order. LISTEN and CLOSED (no TCB) are
// handled by the demultiplexer in tcp-layer.ts (3.10.7.1, 3.10.7.2).

import { ACK, FIN, RST, SYN, type TcpSegment } from '../wire/tcp'
import { ackIfOwed, output, retransmit, sendAck, sendReset, sendSyn } from './output'
import { TcpError, type Tcb } from './tcb'
import { seqAdd, seqDiff, seqGt, seqInWindow, seqLe, seqLt, seqMin } from './seq'
import { armFinWait2Timeout, enterClosed, enterTimeWait, fastRetransmit } from './timers'

/** The parts of a segment the steps below read, after trimming to the window. */
interface Arrival {
  seq: number
  ack: number
  flags: number
  window: number
  /** Text within the window (a view into the packet: copy to keep). */
  data: Uint8Array
  /** FIN inside the window. */
  fin: boolean
  mss: number | undefined
}

export function segmentArrives(tcb: Tcb, seg: TcpSegment): void {
  tcb.lastReceived = tcb.host.clock.now()
  switch (tcb.state) {
    case 'CLOSED':
    case 'LISTEN':
      return
    case 'SYN-SENT':
      return synSent(tcb, seg)
    case 'TIME-WAIT':
      return timeWait(tcb, seg)
    default:
      return otherStates(tcb, seg)
  }
}

/** RFC 9293 3.10.7.3: SYN-SENT. */
function synSent(tcb: Tcb, seg: TcpSegment): void {
  const counters = tcb.host.counters
  const hasAck = (seg.flags & ACK) !== 0
  // First, the ACK bit: it must acknowledge our SYN and nothing more.
  if (hasAck && (seqLe(seg.ack, tcb.iss) || seqGt(seg.ack, tcb.sndNxt))) {
    if (!(seg.flags & RST)) replyReset(tcb, seg.ack)
    return counters.drop('tcp-syn-sent-bad-ack')
  }
  // Second, the RST bit: with an acceptable ACK it refuses the connection.
  if (seg.flags & RST) {
    if (!hasAck) return counters.drop('tcp-syn-sent-rst-without-ack')
    counters.resetsReceived++
    return enterClosed(tcb, new TcpError('ECONNREFUSED', `connection refused by ${tcb.label}`), 'RST received')
  }
  // Fourth, the SYN bit.
  if (!(seg.flags & SYN)) return counters.drop('tcp-syn-sent-no-syn')
  tcb.irs = seg.seq
  tcb.rcvNxt = seqAdd(seg.seq, 1)
  tcb.rcvAdv = tcb.rcvNxt
  takeMss(tcb, seg.options.mss)
  if (hasAck) {
    tcb.sndUna = seg.ack
    sampleRtt(tcb)
    tcb.host.wheel.disarm(tcb.retransmitTimer)
    tcb.retries = 0
  }
  updateWindow(tcb, seg.seq, seg.ack, seg.window, true)
  if (seqGt(tcb.sndUna, tcb.iss)) {
    tcb.setState('ESTABLISHED', 'SYN,ACK received')
    sendAck(tcb)
    tcb.user?.onEstablished()
    // Data or a FIN riding on the SYN,ACK: continue at the sixth step (3.10.7.3).
    if (seg.payload.length > 0 || seg.flags & FIN) {
      processTextAndFin(tcb, {
        seq: seqAdd(seg.seq, 1), ack: seg.ack, flags: seg.flags & ~SYN, window: seg.window,
        data: seg.payload, fin: (seg.flags & FIN) !== 0, mss: undefined,
      })
    }
    return output(tcb)
  }
  // Simultaneous open: their SYN crossed ours.
  tcb.setState('SYN-RECEIVED', 'SYN received (simultaneous open)')
  sendSyn(tcb)
}

/** RFC 9293 3.10.7.4 for TIME-WAIT, kept apart because so little can happen there. */
function timeWait(tcb: Tcb, seg: TcpSegment): void {
  // Second step: RFC 1337 (TIME-WAIT assassination): a RST here is ignored.
  if (seg.flags & RST) return tcb.host.counters.drop('tcp-rst-in-time-wait')
  // Anything else is answered with an ACK; "the only thing that can arrive in
  // this state is a retransmission of the remote FIN. Acknowledge it, and
  // restart the 2 MSL timeout." (Eighth step.)
  const finEnd = seqAdd(seg.seq, seg.payload.length + 1)
  if (seg.flags & FIN && finEnd === tcb.rcvNxt) {
    sendAck(tcb)
    tcb.host.wheel.arm(tcb.closeTimer, 2 * tcb.host.config.mslMs)
    return
  }
  if (seg.flags & SYN || seg.payload.length > 0 || seg.flags & FIN) sendAck(tcb)
}

/** RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states, eight steps in order. */
function otherStates(tcb: Tcb, seg: TcpSegment): void {
  const counters = tcb.host.counters

  // A SYN-RECEIVED special case (3.10.7.4, "only the new parts are processed"):
  // the peer's SYN again. Without ACK our SYN,ACK was lost, so resend it; with
  // an ACK of our SYN it is the peer's SYN,ACK in a simultaneous open, and its
  // new part is the ACK.
  let seq = seg.seq
  let flags = seg.flags
  if (tcb.state === 'SYN-RECEIVED' && flags & SYN && seq === tcb.irs && !(flags & RST)) {
    if (!(flags & ACK)) return sendSyn(tcb)
    seq = seqAdd(seq, 1)
    flags &= ~SYN
  }

  // First: check the sequence number.
  const a = acceptable(tcb, seg, seq, flags)
  if (a === null) {
    if (!(flags & RST)) sendAck(tcb)
    return counters.drop('tcp-unacceptable')
  }
  // Second: the RST bit (with RFC 5961 3.2: only an exact RCV.NXT resets).
  if (flags & RST) return onReset(tcb, seg.seq)
  // Third: security and compartment. No IP security option is used here.
  // Fourth: the SYN bit (RFC 5961 4.2: any SYN gets a challenge ACK).
  if (flags & SYN) {
    counters.drop('tcp-syn-in-window')
    return sendAck(tcb)
  }
  // Fifth: the ACK field.
  if (!(flags & ACK)) return counters.drop('tcp-no-ack')
  if (!checkAck(tcb, a)) return
  // Sixth: the URG bit. Urgent data is not supported (RFC 9293 3.8.5 discourages it); the text is delivered inline.
  // Seventh and eighth: the text and the FIN.
  processTextAndFin(tcb, a)
  output(tcb)
  ackIfOwedNow(tcb)
}

/**
 * First step: the acceptability test with its four cases, then trimming to
 * the window ("the idealized segment that begins at RCV.NXT and does not
 * exceed the window"). Returns null when the segment is not acceptable. A zero
 * window still accepts a segment at RCV.NXT for its ACK (the "special allowance").
 */
function acceptable(tcb: Tcb, seg: TcpSegment, seq: number, flags: number): Arrival | null {
  const syn = (flags & SYN) !== 0
  let fin = (flags & FIN) !== 0
  const segLen = seg.payload.length + (syn ? 1 : 0) + (fin ? 1 : 0)
  const rcvNxt = tcb.rcvNxt
  const wnd = tcb.rcvWnd
  const right = seqAdd(rcvNxt, wnd)
  let ok: boolean
  if (segLen === 0 && wnd === 0) ok = seq === rcvNxt
  else if (segLen === 0) ok = seqInWindow(seq, rcvNxt, right)
  else if (wnd === 0) ok = seq === rcvNxt && !syn // the special allowance: its ACK only
  else ok = seqInWindow(seq, rcvNxt, right) || seqInWindow(seqAdd(seq, segLen - 1), rcvNxt, right)
  if (!ok) return null
  // Trim: text before RCV.NXT was received already; text past the window is not accepted.
  let dataSeq = syn ? seqAdd(seq, 1) : seq
  let data = seg.payload
  const old = seqDiff(rcvNxt, dataSeq)
  if (old > 0) {
    if (old > data.length) fin = false // the FIN too is old
    data = data.subarray(Math.min(old, data.length))
    dataSeq = rcvNxt
  }
  const room = Math.max(0, seqDiff(right, dataSeq))
  if (data.length > room) {
    data = data.subarray(0, room)
    fin = false
    tcb.unackedSegments = 2 // we dropped text: tell the peer our window now
  }
  return { seq: dataSeq, ack: seg.ack, flags, window: seg.window, data, fin, mss: seg.options.mss }
}

/** Second step: a RST. */
function onReset(tcb: Tcb, seq: number): void {
  const counters = tcb.host.counters
  if (seq !== tcb.rcvNxt) {
    counters.drop('tcp-rst-not-exact')
    return sendAck(tcb) // RFC 5961 3.2: challenge ACK
  }
  counters.resetsReceived++
  switch (tcb.state) {
    case 'SYN-RECEIVED':
      // Passive: the listener stays; this half-open connection goes. Active: refused.
      if (tcb.passive) return enterClosed(tcb, null, 'RST received')
      return enterClosed(tcb, new TcpError('ECONNREFUSED', `connection refused by ${tcb.label}`), 'RST received')
    case 'ESTABLISHED':
    case 'FIN-WAIT-1':
    case 'FIN-WAIT-2':
    case 'CLOSE-WAIT':
      return enterClosed(tcb, new TcpError('ECONNRESET', `connection reset by ${tcb.label}`), 'RST received')
    default: // CLOSING, LAST-ACK
      return enterClosed(tcb, null, 'RST received')
  }
}

/** Fifth step: the ACK field. Returns false when the segment is to be dropped here. */
function checkAck(tcb: Tcb, a: Arrival): boolean {
  const { ack, seq, window } = a
  if (tcb.state === 'SYN-RECEIVED') {
    if (!(seqGt(ack, tcb.sndUna) && seqLe(ack, tcb.sndNxt))) {
      replyReset(tcb, ack) // <SEQ=SEG.ACK><CTL=RST>
      tcb.host.counters.drop('tcp-syn-received-bad-ack')
      return false
    }
    tcb.setState('ESTABLISHED', 'ACK of SYN received')
    updateWindow(tcb, seq, ack, window, true)
    if (tcb.passive) tcb.host.accept(tcb)
    else tcb.user?.onEstablished()
  }
  if (seqGt(ack, tcb.sndNxt)) {
    // It acknowledges something not yet sent: ACK, drop.
    sendAck(tcb)
    tcb.host.counters.drop('tcp-ack-unsent')
    return false
  }
  let acked = 0
  if (seqGt(ack, tcb.sndUna)) {
    acked = newAck(tcb, ack)
  } else if (ack === tcb.sndUna && a.data.length === 0 && !a.fin && window === tcb.sndWnd && tcb.sndUna !== tcb.sndNxt) {
    // A duplicate ACK (RFC 5681 2): three in a row mean a segment was lost.
    if (++tcb.dupAcks === 3) fastRetransmit(tcb)
  }
  // Window update, only from a segment newer than the last one used (SND.WL1, SND.WL2).
  if (seqLt(tcb.sndWl1, seq) || (tcb.sndWl1 === seq && seqLe(tcb.sndWl2, ack))) {
    updateWindow(tcb, seq, ack, window, false)
  }
  // Only now, with SND.UNA and SND.WND both current, may the application write more.
  if (acked > 0 && tcb.user !== null && tcb.sendSpace > 0) tcb.user.onSendSpace()
  switch (tcb.state) {
    case 'FIN-WAIT-1':
      // Our FIN acknowledged: FIN-WAIT-2, unless the peer's FIN rides on this
      // very segment; then the FIN step goes straight on to TIME-WAIT.
      if (tcb.finAcked && !(a.fin && a.seq === tcb.rcvNxt)) {
        tcb.setState('FIN-WAIT-2', 'ACK of FIN received')
        armFinWait2Timeout(tcb)
      }
      return true
    // In CLOSING and LAST-ACK the segment ends here; the ACK may still have opened
    // the window for data queued ahead of our FIN, so send what it allows.
    case 'CLOSING':
      if (tcb.finAcked) enterTimeWait(tcb, 'ACK of FIN received')
      else output(tcb)
      return false
    case 'LAST-ACK':
      if (tcb.finAcked) enterClosed(tcb, null, 'ACK of FIN received')
      else output(tcb)
      return false
    default:
      return true
  }
}

/** SND.UNA < SEG.ACK =< SND.NXT: data (and maybe our SYN or FIN) acknowledged. Returns the data bytes freed. */
function newAck(tcb: Tcb, ack: number): number {
  // Data bytes acknowledged: from the buffer start up to the ACK, not counting our FIN.
  const dataEnd = tcb.finSeq !== null ? seqMin(ack, tcb.finSeq) : ack
  const acked = seqDiff(dataEnd, tcb.bufSeq)
  if (acked > 0) {
    tcb.sendBuffer.consume(acked)
    tcb.bufSeq = seqAdd(tcb.bufSeq, acked)
  }
  tcb.sndUna = ack
  sampleRtt(tcb)
  tcb.retries = 0
  tcb.dupAcks = 0
  // RFC 6298 5.2, 5.3: stop the timer when all is acknowledged, else restart it.
  if (tcb.sndUna === tcb.sndNxt) tcb.host.wheel.disarm(tcb.retransmitTimer)
  else tcb.host.wheel.arm(tcb.retransmitTimer, tcb.rtt.rto)
  // Recovering from a loss: each ACK lets two more lost segments go (slow-start pace).
  if (tcb.recoverSeq !== null) retransmit(tcb, 2)
  return Math.max(0, acked)
}

/** RFC 6298: a sample when the timed segment is acknowledged (never a retransmitted one). */
function sampleRtt(tcb: Tcb): void {
  if (tcb.rttSeq !== null && seqLe(tcb.rttSeq, tcb.sndUna)) {
    tcb.rtt.sample(tcb.host.clock.now() - tcb.rttStart)
    tcb.rttSeq = null
  }
}

function updateWindow(tcb: Tcb, seq: number, ack: number, window: number, initial: boolean): void {
  const opened = window > 0 && tcb.sndWnd === 0
  tcb.sndWnd = window
  tcb.sndWl1 = seq
  tcb.sndWl2 = ack
  if (window > tcb.maxSndWnd) tcb.maxSndWnd = window
  if (opened && !initial) {
    tcb.host.wheel.disarm(tcb.persistTimer)
    tcb.persistBackoff = 0
  }
}

/** Seventh and eighth steps: deliver in-order text, keep out-of-order text, then the FIN. */
function processTextAndFin(tcb: Tcb, a: Arrival): void {
  const s = tcb.state
  const receiving = s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2'
  if (!receiving) {
    // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN came already; text or FIN again is a retransmission.
    if (a.data.length > 0 || a.fin) sendAck(tcb)
    return
  }
  if (a.data.length > 0 && tcb.orphaned) {
    // Nobody will ever read this: reset, as Linux does for data to a closed socket.
    tcb.host.counters.drop('tcp-data-after-close')
    sendReset(tcb)
    return enterClosed(tcb, null, 'data after close')
  }
  if (seqGt(a.seq, tcb.rcvNxt)) {
    // Out of order: keep it and send an immediate duplicate ACK (RFC 5681 4.2).
    tcb.reassembly.insert(a.seq, a.data, a.fin)
    return sendAck(tcb)
  }
  let fin = a.fin
  if (a.data.length > 0) {
    // RCV.NXT and the owed ACK move before the application sees the data: its
    // 'data' handler runs inside deliver() and may write (that segment then
    // carries the new ACK) or destroy the socket (the TCB is then CLOSED).
    const chunks = [a.data]
    tcb.rcvNxt = seqAdd(a.seq, a.data.length)
    if (!tcb.reassembly.isEmpty) {
      const more = tcb.reassembly.takeInOrder(tcb.rcvNxt)
      chunks.push(...more.data)
      tcb.rcvNxt = more.next
      if (more.fin) fin = true
      tcb.unackedSegments = 2 // a gap just filled: ACK now (RFC 5681 4.2)
    }
    // Counted in full-sized segments: one large (offloaded) segment may be many.
    tcb.unackedSegments += Math.max(1, Math.floor(a.data.length / tcb.rcvMss))
    for (const d of chunks) deliver(tcb, d)
    if (tcb.state === 'CLOSED') return
    // Delayed ACK (RFC 9293 3.8.6.3): ACK at least every second segment, else within delayedAckMs.
    if (tcb.unackedSegments >= 2) sendAck(tcb)
    else if (tcb.unackedSegments > 0 && !tcb.delayedAckTimer.armed) tcb.host.wheel.arm(tcb.delayedAckTimer, tcb.host.config.delayedAckMs)
  }
  if (fin) finArrives(tcb)
}

function deliver(tcb: Tcb, data: Uint8Array): void {
  tcb.user?.onData(Uint8Array.prototype.slice.call(data))
}

/** Eighth step: the FIN, in order. */
function finArrives(tcb: Tcb): void {
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, 1)
  tcb.finReceived = true
  sendAck(tcb)
  switch (tcb.state) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      tcb.setState('CLOSE-WAIT', 'FIN received')
      break
    case 'FIN-WAIT-1':
      if (tcb.finAcked) enterTimeWait(tcb, 'FIN with ACK of FIN received')
      else tcb.setState('CLOSING', 'FIN received')
      break
    case 'FIN-WAIT-2':
      enterTimeWait(tcb, 'FIN received')
      break
  }
  tcb.user?.onFin()
}

/** An ACK owed by the text step goes out now if output() sent nothing to carry it. */
function ackIfOwedNow(tcb: Tcb): void {
  if (tcb.unackedSegments >= 2 && tcb.state !== 'CLOSED') ackIfOwed(tcb)
}

/** The peer's MSS option (RFC 9293 3.7.1): 536 when absent; never above what our MTU carries. */
function takeMss(tcb: Tcb, mss: number | undefined): void {
  tcb.sndMss = Math.max(1, Math.min(mss ?? 536, tcb.rcvMss))
}

/** A RST for a bad ACK on a TCB: <SEQ=SEG.ACK><CTL=RST>. */
function replyReset(tcb: Tcb, ack: number): void {
  tcb.host.counters.resetsSent++
  tcb.host.transmit(tcb, { seq: ack, ack: 0, flags: RST, window: 0 })
}

export { takeMss }
