// The send side, as gVisor's snd.go: what the peer's ACKs do to the sender, and the
// writer. An ACK of new data moves SND.UNA, frees the send buffer, gives an RTT sample
// (RFC 6298, RFC 7323 RTTM) and restarts the retransmission timer; the window update
// follows the SND.WL1/SND.WL2 rule (RFC 9293 3.10.7.4, fifth step, which input.ts runs).
// output() sends what the windows allow (3.8; 3.10.4 for the FIN), no faster than the
// pacing rate when the congestion control sets one (BBR). What counts as lost and goes
// again is recovery/'s; the segments themselves are built by emit.ts.

import type { Tcb } from './tcb.js'
import { sendSegmentAt } from './emit.js'
import { ackAdvanced, noteCwndLimited, resendLost, restartAfterIdle, sendAllowance, tlpAck } from './recovery/recovery-and-undo.js'
import { armRetransmitTimer, scheduleProbe } from './recovery/timers.js'
import { prrSent } from './recovery/prr.js'
import { rackOnAck } from './recovery/rack.js'
import { deliveredByCumulativeAck } from './delivered.js'
import { rttFromEcho } from './options.js'
import { seqAdd, seqDiff, seqLe, seqLt, seqMin } from './seq.js'

// ---- the writer ----

/**
 * Send what the peer's window allows: new data, then our FIN once all data is
 * out (3.10.4). Starts the retransmission timer for anything in flight and the
 * persist timer when a zero window blocks us (3.8.6.1). `force`: the override
 * timeout of sender SWS avoidance (3.8.6.2.1) fired, send even a small segment.
 */
export function output(tcb: Tcb, force = false): void {
  const s = tcb.state
  // A Fast Open server connection may send from SYN-RECEIVED on (RFC 7413 4.2.2, as Linux's tcp_passive_fastopen).
  const early = s === 'SYN-RECEIVED' && tcb.fastOpenPassive
  if (s !== 'ESTABLISHED' && s !== 'CLOSE-WAIT' && s !== 'FIN-WAIT-1' && s !== 'LAST-ACK' && s !== 'CLOSING' && !early) return
  const host = tcb.host
  restartAfterIdle(tcb)
  resendLost(tcb) // loss recovery first (recovery/)
  const sndNxtBefore = tcb.sndNxt
  let burst = 0 // new-data segments sent by this call
  const perPacket = host.config.pushBursts ? segmentsPerPacket(tcb) : Infinity
  while (tcb.finSeq === null) {
    const unsent = tcb.unsentBytes
    if (unsent === 0 && !tcb.finQueued) break
    // At most min(cwnd, SND.WND) beyond SND.UNA (RFC 5681 3.1); a FIN alone is not held
    // by cwnd (as Linux's tcp_cwnd_test: the final FIN adds no data to the network).
    const usable = unsent === 0 ? peerRoom(tcb) : Math.min(peerRoom(tcb), sendAllowance(tcb))
    // A FIN takes one sequence number of window, as data does.
    if (usable <= 0 || (unsent === 0 && usable < 1)) break
    // MSG_EOR: no segment runs past a record's end; one that ends a record is not the queue's
    // last, so Nagle does not hold it (Linux's tcp_skb_can_collapse_to, TCP_NAGLE_PUSH in tcp_write_xmit).
    const toRecordEnd = tcb.sendBuffer.toRecordEnd(seqDiff(tcb.sndNxt, tcb.bufSeq))
    const endsRecord = toRecordEnd <= Math.min(unsent, usable, tcb.sendSize)
    if (!force && !endsRecord && !mayTransmit(tcb, Math.min(unsent, usable, tcb.sendSize), unsent)) break
    if (unsent > 0 && pacingHolds(tcb)) break
    const start = tcb.sndNxt
    const len = Math.min(unsent, usable, tcb.sendSize, toRecordEnd)
    // Linux's profile (config.pushBursts): PSH also ends each packet of more than one segment.
    const inPacket = burst % perPacket
    const packetEnds = inPacket + 1 === perPacket || burstEndsWith(tcb, len, unsent, usable)
    const push = host.config.pushBursts && (inPacket > 0 || len > tcb.sndMss) && packetEnds
    const sent = sendSegmentAt(tcb, start, Math.min(unsent, usable, toRecordEnd), push || endsRecord)
    burst++
    if (sent === 0) break
    paced(tcb, sent)
    prrSent(tcb, sent) // RFC 6937: new data sent in recovery counts in prr_out
    if (tcb.finQueued && seqAdd(start, sent) === seqAdd(tcb.bufSeq, tcb.sendBuffer.length + 1)) {
      tcb.finSeq = seqAdd(start, sent - 1)
    }
    tcb.sndNxt = seqAdd(start, sent)
    if (len < tcb.sndMss) tcb.sndSml = tcb.sndNxt // Linux's tcp_minshall_update
    tcb.lastDataSent = host.clock.now()
    if (tcb.rttSeq === null && tcb.lossState === 'open') {
      tcb.rttSeq = tcb.sndNxt // time this segment (RFC 6298 3, one at a time)
      tcb.rttStart = host.clock.now()
    }
    if (!tcb.retransmitTimer.armed) armRetransmitTimer(tcb) // RFC 6298 5.1
  }
  // A tail loss probe is due two RTTs after the last new segment (RFC 8985 7.2).
  if (seqDiff(tcb.sndNxt, sndNxtBefore) > 0) scheduleProbe(tcb)
  noteCwndLimited(tcb, tcb.unsentBytes, peerRoom(tcb))
  checkAppLimited(tcb)
  const blocked = tcb.finSeq === null && (tcb.unsentBytes > 0 || tcb.finQueued)
  if (blocked && tcb.sndUna === tcb.sndNxt && !tcb.persistTimer.armed) {
    host.wheel.arm(tcb.persistTimer, persistDelay(tcb))
  }
}

/**
 * After the text step: send what the ACK allows and what the application wrote from its 'data'
 * handler, with the ACK on board; unless that reply is held to the end of the link's batch
 * (output coalescing, tcp-layer.ts), where the rest of it (a FIN, say) joins it.
 */
export function replyOutput(tcb: Tcb): void {
  if (tcb.host.outputHeld?.(tcb) !== true) output(tcb)
}

/**
 * Sender silly window syndrome avoidance with Nagle's algorithm (RFC 9293
 * 3.8.6.2.1 and 3.7.4, RFC 1122 4.2.3.4): may a segment of `len` bytes of the
 * `unsent` queued go now? Yes for a full-sized segment; a smaller one only when
 * nothing sent is unacknowledged (Nagle; or with setNoDelay) and either it
 * carries all the queued data (every write is pushed) or it fills at least half
 * the largest window the peer has offered. A FIN queued behind the data
 * releases the last small segment at once, as Linux does on close.
 */
export function mayTransmit(tcb: Tcb, len: number, unsent: number): boolean {
  if (len >= tcb.sndMss || unsent === 0) return true
  if (tcb.corked && !tcb.finQueued) return false // TCP_CORK holds partial segments (user.ts setCork)
  const nagleAllows = !nagleWaits(tcb)
  if (len === unsent) return nagleAllows || tcb.finQueued
  return nagleAllows && len >= tcb.maxSndWnd / 2
}

/**
 * Does Nagle's algorithm hold a small segment now (RFC 9293 3.7.4)? Not with setNoDelay; not
 * when no data sent is unacknowledged (SND.NXT = SND.UNA, counting from the first data byte: a
 * passive open's first write may come while the ACK of our SYN is still being processed);
 * with Minshall's variant (config.minshallNagle) not unless a small segment is in flight.
 */
function nagleWaits(tcb: Tcb): boolean {
  if (tcb.noDelay || tcb.sndNxt === tcb.bufSeq) return false
  if (!tcb.host.config.minshallNagle) return true
  const sml = tcb.sndSml
  return sml !== null && seqLt(tcb.sndUna, sml) && seqLe(sml, tcb.sndNxt)
}

/**
 * Is a segment of `len` bytes the last this output() sends? Yes when it takes all the data
 * or all the room; else when what would follow is small and Nagle (mayTransmit, with data
 * now in flight) holds it. Linux sends such a burst as one TSO packet, whose last segment
 * carries PSH (tcp_write_xmit, net/ipv4/tcp_output.c): scripts see it as the burst's PSH.
 */
function burstEndsWith(tcb: Tcb, len: number, unsent: number, usable: number): boolean {
  const moreData = unsent - len
  const room = usable - len
  if (moreData <= 0 || room <= 0) return true
  const next = Math.min(moreData, room, tcb.sendSize)
  if (next >= tcb.sndMss) return false
  return next === moreData ? !(!nagleWaits(tcb) || tcb.finQueued) : !(tcb.noDelay && next >= tcb.maxSndWnd / 2)
}

/**
 * How many segments Linux puts in one TSO packet: at most half of cwnd, so that at least two
 * packets are in flight (tcp_cwnd_test, net/ipv4/tcp_output.c), and at most about a
 * millisecond of the pacing rate (tcp_tso_autosize: tcp_update_pacing_rate, tcp_input.c, is
 * cwnd / SRTT, doubled in slow start below ssthresh / 2, else 1.2 times), at least
 * minTsoSegs, at most 64 KiB. Until the rate is known only the half of cwnd bounds it: a
 * passive open learns it at the first ACK after the handshake (the handshake's ACK is taken
 * before its RTT sample), an active one from the SYN,ACK. tuntcp's SRTT stands in for Linux's
 * windowed min RTT.
 */
function segmentsPerPacket(tcb: Tcb): number {
  const halfCwnd = Math.max(1, Math.floor(tcb.cc.cwnd / tcb.sndMss / 2))
  const srtt = tcb.rtt.srtt
  const known = srtt !== undefined && (!tcb.passive || tcb.bytesAcked > 0 || tcb.dupAcks > 0 || tcb.lossState !== 'open')
  if (!known || srtt! <= 0) return halfCwnd
  const ratio = tcb.cc.cwnd < tcb.cc.ssthresh / 2 ? 2 : 1.2
  let bytes = (ratio * tcb.cc.cwnd * 1000) / srtt! / 1024 // the rate per second, shifted right by 10
  const r = Math.floor((srtt! * 1000) / 512) // min RTT in µs >> tcp_tso_rtt_log (9)
  if (r < 32) bytes += 65_536 >> r // as Linux: gso_max_size >> r
  const autosize = Math.max(tcb.host.config.minTsoSegs, Math.floor(Math.min(bytes, 65_536) / tcb.sndMss))
  return Math.min(autosize, halfCwnd)
}

/**
 * Pacing, when the congestion control sets a rate (BBR): new data goes no faster than it, by
 * an earliest departure time as Linux's (tcp_wstamp_ns; tcp_update_skb_after_send): each
 * send moves tcb.pacingNextAt on by its length at the rate. A send quantum (about 1 ms of
 * the rate, as Linux's TSO bursts, and at least PACING_SLACK_MS: the timer wheel ticks in
 * whole ms) may leave at once; past it the pacing timer releases the rest. A timer that
 * fires late (real time, a busy event loop) may make up at most that much again: the
 * departure time trails now by no more than the slack, so the rate holds without bursts
 * of more than two quanta. Retransmissions are not held (resendLost runs first).
 */
const PACING_SLACK_MS = 2

/** How far ahead of now (ms) the departure time may be for new data to leave at once. */
function pacingSlack(tcb: Tcb, rate: number): number {
  return Math.max(PACING_SLACK_MS, ((tcb.cc.sendQuantum ?? tcb.sndMss) * 1000) / rate)
}

/** Does pacing hold new data now? If so, the pacing timer is armed for when it may go. */
function pacingHolds(tcb: Tcb): boolean {
  const rate = tcb.cc.pacingRate
  if (rate === undefined || rate <= 0) return false
  const wait = tcb.pacingNextAt - pacingSlack(tcb, rate) - tcb.host.clock.now()
  if (wait < 0) return false
  if (!tcb.pacingTimer.armed) tcb.host.wheel.arm(tcb.pacingTimer, Math.max(1, Math.ceil(wait)))
  return true
}

/** `bytes` went: the next departure is that much later at the pacing rate. */
function paced(tcb: Tcb, bytes: number): void {
  const rate = tcb.cc.pacingRate
  if (rate === undefined || rate <= 0) return
  const now = tcb.host.clock.now()
  tcb.pacingNextAt = Math.max(tcb.pacingNextAt, now - pacingSlack(tcb, rate)) + (bytes * 1000) / rate
}

/**
 * After an output() pass: did the application, not the network, stop the sender, that is
 * less than a full segment left to send, room in cwnd and nothing lost waiting? Then the
 * delivery rate samples of what is in flight are app-limited (congestion/rate.ts, as
 * Linux's tcp_rate_check_app_limited).
 */
function checkAppLimited(tcb: Tcb): void {
  if (tcb.unsentBytes >= tcb.sndMss || tcb.lossState !== 'open' || sendAllowance(tcb) <= 0) return
  tcb.sent.rate.markAppLimited(seqDiff(tcb.sndNxt, tcb.sndUna))
}

/** What the peer's window still allows beyond SND.NXT. */
function peerRoom(tcb: Tcb): number {
  return seqDiff(seqAdd(tcb.sndUna, tcb.sndWnd), tcb.sndNxt)
}

/** The persist interval: the RTO, doubled per unanswered probe, at most 60 s (RFC 1122 4.2.2.17). */
export function persistDelay(tcb: Tcb): number {
  return Math.min(tcb.rtt.rto * 2 ** tcb.persistBackoff, 60_000)
}

// ---- ACKs arriving ----

/**
 * SND.UNA < SEG.ACK =< SND.NXT: data (and maybe our SYN or FIN) acknowledged; `echo`
 * is the ACK's TSecr, if any. Returns the data bytes freed.
 */
export function newAck(tcb: Tcb, ack: number, echo: number | undefined): number {
  sampleEcho(tcb, echo)
  tcb.ackTsEcr = tcb.tsOk ? echo : undefined
  // Data bytes acknowledged: from the buffer start up to the ACK, not counting our FIN.
  const dataEnd = tcb.finSeq !== null ? seqMin(ack, tcb.finSeq) : ack
  const acked = seqDiff(dataEnd, tcb.bufSeq)
  if (acked > 0) {
    tcb.sendBuffer.consume(acked)
    tcb.bufSeq = seqAdd(tcb.bufSeq, acked)
    tcb.bytesAcked += acked
  }
  if (tcb.sackOk) {
    rackOnAck(tcb, ack, tcb.ackDsack) // RACK: what this ACK delivered, what it shows lost (RFC 8985 6.2)
    tlpAck(tcb, ack, true) // did a tail loss probe repair a loss (RFC 8985 7.4)?
  } else {
    deliveredByCumulativeAck(tcb, ack)
    tcb.sent.trim(ack)
  }
  tcb.ackDsack = null
  const prevUna = tcb.sndUna
  tcb.sndUna = ack
  tcb.softError = null // progress: an earlier ICMP soft error explains nothing now (as Linux)
  sampleRtt(tcb)
  tcb.retries = 0
  // Congestion control: grow cwnd, or go on repairing a loss (RFC 5681, RFC 6582, RFC 6675).
  ackAdvanced(tcb, prevUna)
  // RFC 6298 5.2, 5.3: stop the timer when all is acknowledged, else restart it.
  if (tcb.sndUna === tcb.sndNxt) tcb.host.wheel.disarm(tcb.retransmitTimer)
  else armRetransmitTimer(tcb) // or a tail loss probe before it (recovery/timers.ts)
  return Math.max(0, acked)
}

/**
 * RFC 6298: a sample when the timed segment is acknowledged (never a retransmitted one).
 * With timestamps on, sampleEcho measures instead and nothing is timed here.
 */
export function sampleRtt(tcb: Tcb): void {
  if (tcb.tsOk) {
    tcb.rttSeq = null
    return
  }
  if (tcb.rttSeq !== null && seqLe(tcb.rttSeq, tcb.sndUna)) {
    rttSample(tcb, tcb.host.clock.now() - tcb.rttStart)
    tcb.rttSeq = null
  }
}

/**
 * One RTT sample: into SRTT and RTTVAR (RFC 6298), and the minimum RTT (tcpi_min_rtt), kept
 * over config.minRttWindowMs as Linux's tcp_update_rtt_min does, simplified to one candidate:
 * a smaller sample, or any sample once the minimum is older than the window, becomes it.
 */
function rttSample(tcb: Tcb, rtt: number): void {
  tcb.rtt.sample(rtt)
  const now = tcb.host.clock.now()
  if (rtt <= tcb.minRtt || now - tcb.minRttAt > tcb.host.config.minRttWindowMs) {
    tcb.minRtt = rtt
    tcb.minRttAt = now
  }
}

/** RFC 7323 4 (RTTM): with timestamps, an ACK of new data gives a sample from its TSecr. */
export function sampleEcho(tcb: Tcb, echo: number | undefined): void {
  if (!tcb.tsOk) return
  const rtt = rttFromEcho(tcb, echo)
  if (rtt !== null) rttSample(tcb, rtt)
}

/** Fifth step, the window update: only from a segment newer than the last one used (SND.WL1, SND.WL2). */
export function windowUpdate(tcb: Tcb, seq: number, ack: number, window: number): void {
  if (seqLt(tcb.sndWl1, seq) || (tcb.sndWl1 === seq && seqLe(tcb.sndWl2, ack))) updateWindow(tcb, seq, ack, window, false)
}

/** Only now, with SND.UNA and SND.WND both current, may the application write more. */
export function wakeWriter(tcb: Tcb, acked: number): void {
  if (acked > 0 && tcb.user !== null && tcb.sendSpace > 0) tcb.user.onSendSpace()
}

/** Take this segment's window: SND.WND, SND.WL1, SND.WL2 (3.10.7.3, 3.10.7.4); a window that opens stops the persist timer. */
export function updateWindow(tcb: Tcb, seq: number, ack: number, window: number, initial: boolean): void {
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
