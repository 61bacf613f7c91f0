// Header prediction: the classic fast path of TCP input (Van Jacobson's, from 4.4BSD's
// tcp_input; Linux's tcp_rcv_established does the same). RFC 9293 neither requires nor
// mentions it: it is an optimisation, and a connection behaves exactly as without it.
//
// On an established connection nearly every segment is one of two kinds:
//
//   a pure ACK of new data   we are sending (a download from us): the peer acknowledges
//                            more of it, and says nothing else;
//   the next in-order data   we are receiving (an upload to us): the peer's next bytes,
//                            acknowledging nothing new, or acknowledging what we sent
//                            last (a request after our response, an echo's next byte).
//
// For these the eight steps of RFC 9293 3.10.7.4 (input.ts) decide nothing: PAWS passes,
// the segment is acceptable as it is, carries no RST or SYN, its ACK is in range, its window
// is the one we have. What remains is the work of the ACK step or of the text step. So we
// check a few header fields against what we expect ("predict" the header) and then do only
// that work, calling the same functions the full path calls. Anything that does not fit the
// prediction in every respect goes the full way, which would have done the same with it;
// test/stack/tcp/fast-path.test.ts runs random segments both ways and compares.

import { ACK, PSH, type TcpSegment } from '../wire/tcp.js'
import { TS_RECENT_MAX_AGE_MS, peerWindow, updateTsRecent } from './options.js'
import { ECN } from './ecn.js'
import { ackIfOwedNow, countReceived, delayedAck, deliver, growWindow } from './receive.js'
import { newAck, output, replyOutput, wakeWriter, windowUpdate } from './send.js'
import { seqAdd, seqGt, seqLe, seqLt } from './seq.js'
import type { Tcb } from './tcb.js'

/**
 * A segment for an ESTABLISHED connection: if it is one of the two predicted kinds,
 * process it and return true; otherwise return false, and the full path takes it.
 */
export function headerPrediction(tcb: Tcb, seg: TcpSegment): boolean {
  if (!predicted(tcb, seg)) return false
  const length = seg.payload.length
  if (length === 0 && seqGt(seg.ack, tcb.sndUna) && seqLe(seg.ack, tcb.sndNxt)) {
    pureAck(tcb, seg)
    return true
  }
  if (length > 0 && length <= tcb.rcvWnd && tcb.reassembly.isEmpty && !tcb.orphaned) {
    if (seg.ack === tcb.sndUna) {
      inOrderData(tcb, seg)
      return true
    }
    if (seqGt(seg.ack, tcb.sndUna) && seqLe(seg.ack, tcb.sndNxt) && !writerMayRun(tcb)) {
      ackAndData(tcb, seg)
      return true
    }
  }
  return false
}

/**
 * Would the ACK step run application code (a write waiting for room, woken by wakeWriter)?
 * Then the connection may change before the text step (the application ends or destroys
 * it), and the full path, which checks the state between the steps, takes the segment.
 */
function writerMayRun(tcb: Tcb): boolean {
  const user = tcb.user
  return user !== null && (user.writerWaiting?.() ?? true)
}

/** What both kinds share: the header we expect next on a connection where nothing unusual is going on. */
function predicted(tcb: Tcb, seg: TcpSegment): boolean {
  // ACK and nothing else (PSH changes nothing for us): no SYN, FIN, RST, URG, ECE, CWR.
  if ((seg.flags & ~PSH) !== ACK) return false
  // No CE mark in the IP header: ECN's echo would change (RFC 3168 6.1.3, ecn.ts).
  if (seg.ecn === ECN.CE) return false
  // The next sequence number we expect: nothing to trim, nothing out of order.
  if (seg.seq !== tcb.rcvNxt) return false
  // The same window as before: no window update to make, no zero-window probing to stop.
  if (peerWindow(tcb, seg) !== tcb.sndWnd) return false
  // No loss recovery under way, no SACK blocks to read, nothing SACKed to forget.
  if (tcb.lossState !== 'open' || seg.options.sackBlocks !== undefined || !tcb.scoreboard.isEmpty) return false
  if (tcb.tsOk) {
    // The timestamps in order: PAWS (RFC 7323 5.3) would let it through, TS.Recent is still valid (5.5).
    const ts = seg.options.timestamp
    if (ts === undefined || seqLt(ts.value, tcb.tsRecent)) return false
    if (tcb.host.clock.now() - tcb.tsRecentAge > TS_RECENT_MAX_AGE_MS) return false
  }
  return true
}

/** SND.UNA < SEG.ACK =< SND.NXT, no data: the fifth step's work, then send what the ACK allows. */
function pureAck(tcb: Tcb, seg: TcpSegment): void {
  tcb.host.counters.fastPathAcks++
  ackStep(tcb, seg)
  output(tcb)
  ackIfOwedNow(tcb)
}

/** SEG.SEQ = RCV.NXT, data that fits the window, SND.UNA < SEG.ACK =< SND.NXT: the fifth step's work, then the seventh's. */
function ackAndData(tcb: Tcb, seg: TcpSegment): void {
  tcb.host.counters.fastPathData++
  ackStep(tcb, seg) // no write waits (writerMayRun): nothing of the application's runs in it
  text(tcb, seg)
}

/** The fifth step for an ACK of new data: TS.Recent, the RTT sample, congestion control, timers, the window, the writer. */
function ackStep(tcb: Tcb, seg: TcpSegment): void {
  if (tcb.tsOk) updateTsRecent(tcb, seg)
  const acked = newAck(tcb, seg.ack, seg.options.timestamp?.echo)
  windowUpdate(tcb, seg.seq, seg.ack, tcb.sndWnd)
  wakeWriter(tcb, acked)
}

/** SEG.SEQ = RCV.NXT, data that fits the window, SEG.ACK = SND.UNA: the seventh step's work. */
function inOrderData(tcb: Tcb, seg: TcpSegment): void {
  tcb.host.counters.fastPathData++
  if (tcb.tsOk) updateTsRecent(tcb, seg)
  windowUpdate(tcb, seg.seq, seg.ack, tcb.sndWnd)
  text(tcb, seg)
}

/** The text step for the next in-order data, then what it lets us send and the ACK it owes. */
function text(tcb: Tcb, seg: TcpSegment): void {
  // RCV.NXT and the owed ACK move before the application sees the data (as processTextAndFin).
  tcb.rcvNxt = seqAdd(seg.seq, seg.payload.length)
  countReceived(tcb, seg.payload.length)
  growWindow(tcb, seg.payload.length)
  deliver(tcb, seg.payload)
  if (tcb.state === 'CLOSED') return // the application destroyed the socket from its 'data' handler
  delayedAck(tcb)
  replyOutput(tcb)
  ackIfOwedNow(tcb)
}
