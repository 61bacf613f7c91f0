// SEGMENT ARRIVES for a connection that has a TCB (RFC 9293 3.10.7.3 and
// 3.10.7.4), step by step in the RFC's order. LISTEN and CLOSED (no TCB) are
// handled by the demultiplexer in tcp-layer.ts (3.10.7.1, 3.10.7.2).

import { ACK, FIN, RST, SYN, type TcpOptions, type TcpSegment } from '../wire/tcp.js'
import { sendAck, sendReset, sendResetAt, sendSyn } from './emit.js'
import { output, newAck, replyOutput, sampleEcho, sampleRtt, updateWindow, wakeWriter, windowUpdate } from './send.js'
import { ackIfOwedNow, countReceived, delayedAck, dataAgain, deliver, growWindow, segmentsIn, synAckAckSaved } from './receive.js'
import { challengeAck } from './challenge-ack.js'
import { acceptSynOptions, noteOutOfOrder, pawsCheck, peerWindow, takeMss, tsVal, updateTsRecent } from './options.js'
import { TcpError, type Tcb } from './tcb.js'
import { seqAdd, seqDiff, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax } from './seq.js'
import { armFinWait2Timeout, enterClosed, enterTimeWait } from './timers.js'
import { takeSack } from './recovery/detection.js'
import { dsackArrived, duplicateAck, ecnEchoArrives, startCongestionControl, tlpAck } from './recovery/recovery-and-undo.js'
import { ecnEchoed, ecnSegmentArrives, ecnSynAckArrives } from './ecn.js'
import { headerPrediction } from './fast-path.js'
import { fastOpenSynAck } from './fast-open-client.js'
import { deliveredByDupAck, deliveredBySynAck } from './delivered.js'

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
  /** The segment's options: timestamps, SACK blocks. */
  options: TcpOptions
}

export function segmentArrives(tcb: Tcb, seg: TcpSegment): void {
  tcb.lastReceived = tcb.host.clock.now()
  // Counted as segments of the peer's MSS: an offloaded (GRO) one stands for several, as Linux's gso_segs.
  const segments = segmentsIn(tcb, seg.payload.length)
  tcb.segsIn += segments
  if (seg.payload.length > 0) tcb.dataSegsIn += segments
  switch (tcb.state) {
    case 'CLOSED':
    case 'LISTEN':
      return
    case 'SYN-SENT':
      return synSent(tcb, seg)
    case 'TIME-WAIT':
      return // never reached: in TIME-WAIT the table holds a compact entry instead (time-wait.ts)
    case 'ESTABLISHED':
      // Header prediction first: the two commonest segments take a short road (fast-path.ts).
      if (tcb.host.config.headerPrediction && headerPrediction(tcb, seg)) return
      return otherStates(tcb, seg)
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
    if (!(seg.flags & RST)) sendResetAt(tcb, seg.ack) // <SEQ=SEG.ACK><CTL=RST>
    return counters.drop('tcp-syn-sent-bad-ack')
  }
  // With it, a TSecr must echo a TSval of one of our SYNs (RFC 7323 3.2, as Linux's PAWS-active check): refused as a bad ACK.
  if (hasAck && !synAckEchoesOurSyn(tcb, seg)) {
    if (!(seg.flags & RST)) sendResetAt(tcb, seg.ack)
    return counters.drop('tcp-syn-sent-bad-tsecr')
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
  // RCV.WND is the window our SYN offered (never scaled, RFC 7323 2.2): data on the SYN,ACK fills it.
  tcb.rcvAdv = seqAdd(tcb.rcvNxt, tcb.rcvFree(true))
  takeMss(tcb, seg.options.mss)
  acceptSynOptions(tcb, seg.options) // window scale, timestamps, SACK: on when both SYNs carry them
  if (hasAck) {
    ecnSynAckArrives(tcb, seg) // RFC 3168 6.1.1: ECE without CWR agrees to ECN
    tcb.sndUna = seg.ack
    deliveredBySynAck(tcb, seg.ack, tcb.fastOpen?.synData ?? 0)
    sampleRtt(tcb)
    sampleEcho(tcb, seg.options.timestamp?.echo)
    tcb.host.wheel.disarm(tcb.retransmitTimer)
    tcb.retries = 0
  }
  updateWindow(tcb, seg.seq, seg.ack, seg.window, true)
  if (seqGt(tcb.sndUna, tcb.iss)) {
    tcb.setState('ESTABLISHED', 'SYN,ACK received')
    startCongestionControl(tcb)
    // Fast Open (RFC 7413 4.2.2): the cookie and MSS to cache; SYN data not acknowledged goes again.
    const resend = fastOpenSynAck(tcb, seg)
    // Data about to go carries the ACK of the SYN,ACK, as Linux saves that ACK while a write waits.
    const bare = seg.payload.length === 0 && !(seg.flags & FIN)
    const carried = bare && (resend || (tcb.fastOpen !== null && tcb.unsentBytes > 0))
    const sentBefore = tcb.host.counters.segmentsOut
    if (bare && !carried) sendAck(tcb)
    if (carried && !resend) synAckAckSaved(tcb) // (resent SYN data is not new data: Linux returns before saving the ACK)
    tcb.user?.onEstablished()
    // Data or a FIN riding on the SYN,ACK: continue at the sixth step (3.10.7.3); one ACK covers the SYN and it, now.
    if (!bare) {
      processTextAndFin(tcb, {
        seq: seqAdd(seg.seq, 1), ack: seg.ack, flags: seg.flags & ~SYN, window: seg.window,
        data: seg.payload, fin: (seg.flags & FIN) !== 0, mss: undefined, options: seg.options,
      })
      if (tcb.state === 'ESTABLISHED' && tcb.unackedSegments > 0) sendAck(tcb)
    }
    output(tcb)
    if (carried && tcb.host.counters.segmentsOut === sentBefore && tcb.state === 'ESTABLISHED') sendAck(tcb) // nothing went: the ACK alone
    return
  }
  // Simultaneous open: their SYN crossed ours.
  tcb.setState('SYN-RECEIVED', 'SYN received (simultaneous open)')
  sendSyn(tcb)
}

/**
 * A SYN,ACK's TSecr, when it has one (not 0) and we offered timestamps, lies between the
 * TSval of our first SYN and our clock now: it echoes one of our SYNs (Linux's check in
 * tcp_rcv_synsent_state_process, with its retrans_stamp). A stale or forged one does not.
 */
function synAckEchoesOurSyn(tcb: Tcb, seg: TcpSegment): boolean {
  const echo = seg.options.timestamp?.echo
  if (echo === undefined || echo === 0 || !tcb.host.config.timestamps) return true
  const first = seqAdd(Math.floor(tcb.synSentAt), tcb.tsOffset)
  return seqGe(echo, first) && seqLe(echo, tsVal(tcb))
}

/** RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states, eight steps in order. */
function otherStates(tcb: Tcb, seg: TcpSegment): void {
  const counters = tcb.host.counters

  // A SYN-RECEIVED special case (3.10.7.4, "only the new parts are processed"):
  // the peer's SYN again. Without ACK our SYN,ACK was lost, so resend it; with
  // an ACK of our SYN it is the peer's SYN,ACK in a simultaneous open, and its
  // new part is the ACK. Its SYN octet is old: that is ACKed at once, as the first
  // step answers an old segment (and as Linux does, a D-SACK block naming it).
  let seq = seg.seq
  let flags = seg.flags
  if (tcb.state === 'SYN-RECEIVED' && flags & SYN && seq === tcb.irs && !(flags & RST)) {
    if (!(flags & ACK)) return sendSyn(tcb)
    noteDuplicate(tcb, seq, seqAdd(seq, 1))
    tcb.unackedSegments = 2
    seq = seqAdd(seq, 1)
    flags &= ~SYN
  }

  // First, before the sequence number: PAWS (RFC 7323 5.3). An old duplicate is ACKed and dropped.
  if (tcb.tsOk) {
    const why = pawsCheck(tcb, seg)
    if (why !== null) {
      if (why === 'tcp-paws') sendAck(tcb)
      return counters.drop(why)
    }
  }
  // First: check the sequence number.
  const a = acceptable(tcb, seg, seq, flags)
  if (a === null) {
    // A SYN out of the window gets the same rate-limited challenge ACK as one inside it (RFC 5961 4.2, as Linux).
    if (flags & SYN && !(flags & RST)) return challengeAck(tcb, 'tcp-syn-out-of-window')
    if (!(flags & RST)) {
      if (seg.payload.length > 0) dataAgain(tcb) // data again or beyond the window: as Linux's tcp_send_dupack
      if (seqLe(seqAdd(seq, seg.payload.length), tcb.rcvNxt)) noteDuplicate(tcb, seq, seqAdd(seq, seg.payload.length))
      sendAck(tcb)
    }
    return counters.drop('tcp-unacceptable')
  }
  // An acceptable segment's TSval may become TS.Recent, the value we echo (RFC 7323 4.3).
  if (tcb.tsOk) updateTsRecent(tcb, seg)
  // Second: the RST bit (with RFC 5961 3.2: only an exact RCV.NXT resets).
  if (flags & RST) return onReset(tcb, seg.seq)
  // Third: security and compartment. No IP security option is used here.
  // Fourth: the SYN bit (RFC 5961 4.2: any SYN gets a challenge ACK).
  if (flags & SYN) return challengeAck(tcb, 'tcp-syn-in-window')
  // Fifth: the ACK field.
  if (!(flags & ACK)) return counters.drop('tcp-no-ack')
  // ECN (RFC 3168 6.1.3, ecn.ts): CWR ends our echo, a CE mark starts it; CE on data is ACKed at once.
  if (ecnSegmentArrives(tcb, seg)) tcb.unackedSegments = 2
  if (!checkAck(tcb, a)) return
  // Sixth: the URG bit. Urgent data is not supported (RFC 9293 3.8.5 discourages it); the text is delivered inline.
  // Seventh and eighth: the text and the FIN.
  processTextAndFin(tcb, a)
  replyOutput(tcb)
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
    noteDuplicate(tcb, dataSeq, seqAdd(dataSeq, Math.min(old, data.length)))
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
  // The window field is scaled by the peer's shift, except in a SYN (RFC 7323 2.3).
  return { seq: dataSeq, ack: seg.ack, flags, window: peerWindow(tcb, seg), data, fin, mss: seg.options.mss, options: seg.options }
}

/** Data we hold already arrived again: our next ACK reports it first, as a D-SACK block (RFC 2883 4). */
function noteDuplicate(tcb: Tcb, left: number, right: number): void {
  if (tcb.sackOk && seqLt(left, right)) tcb.dsackToSend = { left, right }
}

/** Second step: a RST. */
function onReset(tcb: Tcb, seq: number): void {
  const counters = tcb.host.counters
  if (seq !== tcb.rcvNxt) return challengeAck(tcb, 'tcp-rst-not-exact') // RFC 5961 3.2
  counters.resetsReceived++
  switch (tcb.state) {
    case 'SYN-RECEIVED':
      // Passive: the listener stays; this half-open connection goes. Active: refused. A Fast
      // Open connection the application holds already is reset, as an ESTABLISHED one.
      if (tcb.passive && tcb.fastOpenPassive && !tcb.orphaned) {
        return enterClosed(tcb, new TcpError('ECONNRESET', `connection reset by ${tcb.label}`), 'RST received')
      }
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
      sendResetAt(tcb, ack) // <SEQ=SEG.ACK><CTL=RST>
      tcb.host.counters.drop('tcp-syn-received-bad-ack')
      return false
    }
    tcb.setState('ESTABLISHED', 'ACK of SYN received')
    // Our SYN,ACK delivered (Linux's tcp_rcv_state_process); a simultaneous open's SYN too (tcp_clean_rtx_queue).
    tcb.delivered += tcb.passive ? 1 : 2
    updateWindow(tcb, seq, ack, window, true)
    // A Fast Open connection has its application and its congestion window already (RFC 7413 4.2.2).
    if (!tcb.fastOpenPassive) startCongestionControl(tcb)
    if (tcb.passive && !tcb.fastOpenPassive) tcb.host.accept(tcb)
    else if (!tcb.passive) tcb.user?.onEstablished()
  }
  // RFC 5961 5.2: the ACK must lie in [SND.UNA - MAX.SND.WND, SND.NXT]; outside it the
  // segment (and any data on it) is dropped and a challenge ACK sent (blind data injection).
  if (seqGt(ack, tcb.sndNxt)) {
    if (tcb.host.config.ackUnsentChallenge) challengeAck(tcb, 'tcp-ack-unsent')
    else tcb.host.counters.drop('tcp-ack-unsent') // Linux's tcp_ack: dropped, not answered
    return false
  }
  if (seqLt(ack, seqAdd(tcb.sndUna, -tcb.maxSndWnd))) {
    challengeAck(tcb, 'tcp-ack-too-old')
    return false
  }
  // RFC 2018, RFC 6675: this ACK's SACK blocks go into the scoreboard before loss recovery looks at it.
  // An old ACK (below SND.UNA, overtaken by a later one) is ignored as an ACK (3.10.7.4),
  // but its SACK blocks are news still, taken as a duplicate ACK's (as Linux's tcp_ack).
  const sackedBefore = tcb.scoreboard.sackedBytes
  const blocks = a.options.sackBlocks ?? []
  const oldSack = tcb.sackOk && seqLt(ack, tcb.sndUna) && blocks.length > 0
  if (tcb.sackOk && (seqGe(ack, tcb.sndUna) || oldSack)) {
    takeSack(tcb, blocks, seqMax(ack, tcb.sndUna))
    if (tcb.ackDsack !== null) dsackArrived(tcb) // RFC 3708: undo a recovery all of whose retransmissions were needless
    if (!seqGt(ack, tcb.sndUna)) tlpAck(tcb, tcb.sndUna, false) // RFC 8985 7.4 (an ACK that moves SND.UNA: send.ts newAck)
  }
  let acked = 0
  // RFC 3168 6.1.2: the peer echoes a CE mark: cut cwnd once for this window (recovery/cwr.ts).
  if (ecnEchoed(tcb, a.flags)) ecnEchoArrives(tcb)
  if (seqGt(ack, tcb.sndUna)) {
    acked = newAck(tcb, ack, a.options.timestamp?.echo)
  } else if (oldSack) {
    if (tcb.scoreboard.sackedBytes > sackedBefore && tcb.sndUna !== tcb.sndNxt) duplicateAck(tcb)
  } else if (ack === tcb.sndUna && tcb.sndUna !== tcb.sndNxt) {
    // A duplicate ACK (RFC 5681 2: no data, same window; RFC 6675 2: or it SACKs new
    // bytes, whatever else it carries): enough of them mean a segment was lost (recovery/).
    const plain = a.data.length === 0 && !a.fin && window === tcb.sndWnd
    if (plain || tcb.scoreboard.sackedBytes > sackedBefore) {
      const dupDelivered = tcb.dupDelivered
      duplicateAck(tcb)
      deliveredByDupAck(tcb, dupDelivered)
    }
  }
  windowUpdate(tcb, seq, ack, window)
  wakeWriter(tcb, acked)
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
  // A bare ACK carries nothing to deliver; its SEQ is the peer's SND.NXT, which is ahead of
  // RCV.NXT whenever its data was lost. Answering it would make both ends ACK each other forever.
  if (a.data.length === 0 && !a.fin) return
  if (seqGt(a.seq, tcb.rcvNxt)) {
    // Out of order: keep it and send an immediate duplicate ACK (RFC 5681 4.2).
    const end = seqAdd(a.seq, a.data.length)
    if (tcb.reassembly.blocks().some(r => seqLe(r.left, a.seq) && seqLe(end, r.right))) noteDuplicate(tcb, a.seq, end)
    tcb.reassembly.insert(a.seq, a.data, a.fin)
    if (tcb.sackOk && a.data.length > 0) {
      noteOutOfOrder(tcb, a.seq) // its block goes first in our SACK option (RFC 2018 4)
      growWindow(tcb, a.data.length) // with SACK only: without, a window held still forces duplicate ACKs (Linux's tcp_data_queue_ofo)
    }
    // Bounded memory per connection: too many pieces, the highest go (counted).
    if (tcb.reassembly.prune(tcb.host.config.maxOutOfOrderPieces) > 0) tcb.host.counters.drop('tcp-ofo-pruned')
    return sendAck(tcb)
  }
  let fin = a.fin
  if (a.data.length > 0) {
    // RCV.NXT and the owed ACK move before the application sees the data: its
    // 'data' handler runs inside deliver() and may write (that segment then
    // carries the new ACK) or destroy the socket (the TCB is then CLOSED).
    const chunks = [a.data]
    tcb.rcvNxt = seqAdd(a.seq, a.data.length)
    if (!tcb.reassembly.isEmpty && fin) {
      // The FIN ends the stream right here (eighth step): nothing queued beyond it can
      // ever be delivered, so the queue goes (as Linux's tcp_fin purges it).
      tcb.reassembly.clear()
    } else if (!tcb.reassembly.isEmpty) {
      const more = tcb.reassembly.takeInOrder(tcb.rcvNxt)
      chunks.push(...more.data)
      tcb.rcvNxt = more.next
      if (more.fin) fin = true
      tcb.unackedSegments = 2 // a gap just filled: ACK now (RFC 5681 4.2)
    }
    countReceived(tcb, a.data.length)
    growWindow(tcb, a.data.length)
    for (const d of chunks) deliver(tcb, d)
    if (tcb.state === 'CLOSED') return
    // A FIN after the text is ACKed at once by finArrives, and that one ACK covers both.
    if (!fin) delayedAck(tcb)
  }
  if (fin) {
    tcb.reassembly.clear() // a bare FIN in order: anything queued beyond it is past the end
    finArrives(tcb)
  }
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
