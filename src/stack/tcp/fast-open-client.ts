// TCP Fast Open, the client's side (RFC 7413 4.2.1, 4.2.2), as Linux does it
// (tcp_send_syn_data in net/ipv4/tcp_output.c, tcp_rcv_fastopen_synack in tcp_input.c):
//
// - the first SYN of an active open that asked for Fast Open carries the server's cookie
//   from the cache (fast-open-cache.ts) and as much of the first SEND as fits, or, with no
//   cookie yet, an empty Fast Open option (a cookie request) and no data;
// - retransmitted SYNs carry neither the option nor the data;
// - the SYN,ACK's cookie and MSS go into the cache; the SYN's data it did not acknowledge
//   (a server without Fast Open, a cookie refused, a SYN lost) goes again once ESTABLISHED.
//
// input.ts (SYN-SENT, 3.10.7.3), user.ts (OPEN and SEND) and timers.ts call here.

import { tcpOverhead } from '../wire/address.js'
import { sendSyn } from './emit.js'
import { flightLost } from './recovery/recovery-and-undo.js'
import { seqAdd, seqDiff } from './seq.js'
import type { FastOpenClient, Tcb } from './tcb.js'
import type { TcpSegment } from '../wire/tcp.js'

/** Option space kept free in a SYN with data, for middleboxes that add options (Linux's MAX_TCP_OPTION_SPACE). */
export const SYN_DATA_OPTION_SPACE = 40

const NO_COOKIE = new Uint8Array(0)

/**
 * Decide what the first SYN of this active open carries (Linux's tcp_fastopen_cookie_check):
 * with a cached cookie, the cookie and data; with none, a cookie request and no data; with the
 * stack's clientNoCookie switch, data and no option. Null (a plain SYN, no Fast Open at all)
 * with the client switch off or after recurring losses of SYNs with data to this server. A
 * SYN that may carry data waits for the first SEND (`deferred`).
 */
export function planFastOpen(tcb: Tcb): FastOpenClient | null {
  const cache = tcb.host.fastOpenCache
  const config = tcb.host.config.fastOpen
  // Off for clients, or recurring losses to this server: a plain SYN, as if never asked.
  if (cache === undefined || !config.client || cache.synDataBlocked(tcb.remoteAddr, tcb.host.clock.now())) return null
  const fo: FastOpenClient = { deferred: false, synOption: null, asked: false, experimental: false, room: 0, synData: 0 }
  const entry = cache.get(tcb.remoteAddr)
  // The server's MSS as cached, never above what our own MTU carries, less room for options.
  const mss = Math.min(entry !== undefined && entry.mss > 0 ? entry.mss : tcb.rcvMss, tcb.rcvMss)
  const room = Math.max(0, mss - SYN_DATA_OPTION_SPACE)
  if (config.clientNoCookie) {
    // Linux's TFO_CLIENT_NO_COOKIE (tcp_fastopen 0x4): data in the SYN, no option at all.
    fo.room = room
    fo.deferred = true
  } else if (entry?.cookie != null) {
    fo.synOption = { cookie: entry.cookie, experimental: entry.experimental }
    fo.room = room
    fo.deferred = true
  } else {
    // No cookie yet: ask for one (RFC 7413 4.1.1), in the experimental form if the RFC form went unanswered once.
    fo.synOption = { cookie: NO_COOKIE, experimental: entry?.tryExp === 1 }
  }
  fo.asked = fo.synOption !== null
  fo.experimental = fo.synOption?.experimental ?? false
  return fo
}

/**
 * Send the first SYN of an active open and start its timer: with Fast Open, carrying the
 * data queued so far up to the room planned (RFC 7413 4.2.1). SND.NXT moves past that
 * data too, so a SYN,ACK that acknowledges it is acceptable (3.10.7.3, first step).
 */
export function sendFirstSyn(tcb: Tcb): void {
  const fo = tcb.fastOpen
  let len = 0
  if (fo !== null) {
    fo.deferred = false
    len = Math.min(fo.room, tcb.sendBuffer.length)
    fo.synData = len
  }
  tcb.synSentAt = tcb.host.clock.now()
  sendSyn(tcb, len)
  // The SYN's data is in flight like any other, for RACK (RFC 8985 6.1), should it go again:
  // one entry, as Linux's one syn_data skb (tcp_send_syn_data), so it counts one delivered (delivered.ts).
  tcb.sent.onSend(seqAdd(tcb.iss, 1), len, tcb.synSentAt, seqAdd(tcb.iss, 1))
  if (fo !== null) fo.synOption = null // SYN retries carry no Fast Open option (as Linux)
  tcb.sndNxt = seqAdd(tcb.iss, 1 + len)
  tcb.rttSeq = seqAdd(tcb.iss, 1) // the SYN is timed, whatever of its data the SYN,ACK acknowledges
  tcb.rttStart = tcb.host.clock.now()
  tcb.host.wheel.arm(tcb.retransmitTimer, tcb.rtt.rto)
}

/**
 * The SYN,ACK of a Fast Open SYN arrived and SND.UNA has moved (3.10.7.3, fourth step, with
 * RFC 7413 4.2.2; Linux's tcp_rcv_fastopen_synack). The data it acknowledges leaves the send
 * buffer; its cookie (only when we asked: an unsolicited one is ignored) and MSS go into the
 * cache. Returns true when part of the SYN's data was not acknowledged: it is then marked
 * lost (recovery/, the `loss` state without a congestion response), and the next output()
 * retransmits it, carrying our ACK.
 */
export function fastOpenSynAck(tcb: Tcb, seg: TcpSegment): boolean {
  const fo = tcb.fastOpen
  if (fo === null) return false
  const acked = Math.max(0, Math.min(seqDiff(tcb.sndUna, tcb.bufSeq), fo.synData))
  if (acked > 0) {
    tcb.sendBuffer.consume(acked)
    tcb.bufSeq = seqAdd(tcb.bufSeq, acked)
    tcb.bytesAcked += acked
  }
  tcb.sent.trim(tcb.sndUna)
  const unacked = seqDiff(tcb.sndNxt, tcb.sndUna)
  const cache = tcb.host.fastOpenCache
  if (cache !== undefined && (fo.asked || fo.synData > 0)) {
    const got = seg.options.fastOpen
    const cookie = fo.asked && got !== undefined && got.cookie.length > 0 ? { bytes: got.cookie, experimental: got.experimental } : null
    let synLost = false
    let tryExp: 0 | 1 | 2 = 0
    if (!fo.asked) {
      // cookie-less data: nothing more to learn than the MSS
    } else if (tcb.synRetransmitted) {
      // Only our plain SYN retries reached the server: the SYN with data, or its SYN,ACK, was lost.
      synLost = got === undefined && unacked > 0
    } else if (got === undefined && fo.synData === 0) {
      // A cookie request went unanswered: try the other form of the option next time.
      tryExp = fo.experimental ? 2 : 1
    }
    cache.learn(tcb.remoteAddr, { mss: seg.options.mss ?? 0, cookie, synLost, tryExp }, tcb.host.clock.now())
  }
  if (unacked > 0) {
    // Lost, not to congestion: the go-back-N resends it as output() runs (Linux's tcp_non_congestion_loss_retransmit).
    flightLost(tcb)
    return true
  }
  tcb.synDataAcked = fo.synData > 0
  return false
}

/**
 * ICMP fragmentation needed (RFC 1191) for our SYN with data: the path carries at most `mtu`.
 * Our SYN goes again now as a plain SYN (Linux's tcp_simple_retransmit for SYN data), and the
 * MSS it offers, and so the peer's segments and ours, fit that MTU, as Linux takes its MSS from
 * the route. Not a loss: the initial window stays. The data goes after the handshake.
 */
export function synDataTooBig(tcb: Tcb, mtu: number): void {
  tcb.rcvMss = Math.min(tcb.rcvMss, mtu - tcpOverhead(tcb.remoteAddr)) // 40 bytes of headers over IPv4, 60 over IPv6
  tcb.host.counters.pmtuReductions++
  tcb.host.counters.retransmissions++
  tcb.totalRetransmits++
  tcb.rttSeq = null // Karn: the retransmitted SYN is not timed
  sendSyn(tcb)
}
