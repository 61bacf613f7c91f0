// What an ICMP error does to one of our connections. ICMP is easy to forge, so
// the first check is RFC 5927 section 4.1: the quoted sequence number must be
// in flight, SND.UNA =< SEG.SEQ < SND.NXT; otherwise the message is ignored
// (counted). A blind attacker must then guess a number in a window of
// unacknowledged data, as for an in-window RST (RFC 5961).
//
// What we do with one that passes, and why:
//
// - Fragmentation needed (RFC 1191), or over IPv6 Packet Too Big (RFC 8201, where
//   routers never fragment): a router that cannot forward a segment of ours says
//   how large a packet may be. We lower SND.MSS to fit,
//   never believing a path MTU below 552 bytes (Linux's floor: RFC 5927 section 7
//   warns that a forged tiny MTU would make us send 28-byte segments), so SND.MSS
//   never goes below 512, or 500 when every segment carries the 12 bytes of the
//   timestamps option. What is in flight is resent at the new size, as Linux's
//   tcp_simple_retransmit does: the go-back-N of recovery/ (pathMtuReduced),
//   paced by cwnd and stepping over SACKed data, with no congestion response: the
//   router dropped the segments, not congestion. A larger MTU is never taken (the
//   path MTU only grows again by probing, RFC 1191 6.3, which we do not do).
// - Fragmentation needed for a SYN that carried Fast Open data (RFC 7413): the SYN goes again
//   at once without the data, its MSS option lowered to what the path carries, as Linux's
//   tcp_simple_retransmit and route MSS do; the data follows the handshake (fast-open-client.ts).
//   For a plain SYN the MTU bounds the MSS our next SYN offers and the peer's (synPathMtu).
// - Destination unreachable while we are in SYN-SENT: our connect() fails at once
//   with ECONNREFUSED (protocol or port unreachable), ENETUNREACH or EHOSTUNREACH,
//   as on Linux. The sequence check makes that a 32-bit guess of our ISS.
// - Net or host unreachable, or time exceeded, for the SYN,ACK of a passive
//   SYN-RECEIVED: the half-open connection is dropped, freeing its SYN queue slot
//   (Linux's tcp_req_err), so a flood from unreachable spoofed sources drains. A Fast
//   Open connection there (RFC 7413) fails instead, its error the socket's, as in SYN-SENT.
// - Everything else in any other state is a soft error (RFC 1122 4.2.3.9; RFC 5461
//   and RFC 5927 section 5 advise treating even the "hard" codes 2-4 as soft once
//   synchronized): the connection goes on; the error is kept in `tcb.softError`
//   and becomes the socket's error only if the connection later times out (as
//   Linux reports sk_err_soft in place of ETIMEDOUT). Any acknowledged progress clears it.
// - Source quench: ignored (RFC 6633 deprecates it).

import type { IcmpError } from '../ip/icmp-errors.js'
import { isV6, tcpOverhead } from '../wire/address.js'
import { IPV6_MIN_MTU } from '../wire/ipv6.js'
import { TIMESTAMPS_LENGTH } from './options.js'
import { synDataTooBig } from './fast-open-client.js'
import { pathMtuReduced } from './recovery/recovery-and-undo.js'
import { seqInWindow } from './seq.js'
import { TcpError, type Tcb, type TcpErrorCode } from './tcb.js'
import { enterClosed } from './timers.js'

/** The smallest path MTU we believe (Linux net.ipv4.route.min_pmtu). */
export const MIN_PMTU = 552

export function icmpErrorArrives(tcb: Tcb, err: IcmpError): void {
  const counters = tcb.host.counters
  if (err.kind === 'source-quench') return counters.drop('icmp-source-quench')
  // RFC 5927 4.1: only a segment we sent and is not yet acknowledged can have caused it.
  if (!seqInWindow(err.seq, tcb.sndUna, tcb.sndNxt)) return counters.drop('icmp-seq-not-in-flight')

  if (err.kind === 'frag-needed') return lowerMss(tcb, err.mtu)

  if (tcb.state === 'SYN-SENT' && err.kind === 'unreachable') {
    counters.icmpHardErrors++
    return enterClosed(tcb, icmpTcpError(tcb, err.code), 'ICMP destination unreachable')
  }
  if (tcb.state === 'SYN-RECEIVED' && tcb.fastOpenPassive && err.kind === 'unreachable') {
    // RFC 7413 4.2.2: the application holds it already; it fails as SYN-SENT does (Linux's tcp_v4_err).
    counters.icmpHardErrors++
    return enterClosed(tcb, icmpTcpError(tcb, err.code), 'ICMP destination unreachable for our SYN,ACK')
  }
  if (tcb.state === 'SYN-RECEIVED' && tcb.passive && dropsHalfOpen(err)) {
    counters.icmpHardErrors++
    return enterClosed(tcb, null, `ICMP ${err.kind} for our SYN,ACK`)
  }
  counters.icmpSoftErrors++
  tcb.softError = err.kind === 'unreachable'
    ? icmpTcpError(tcb, err.code)
    : new TcpError('EHOSTUNREACH', `connection to ${tcb.label} timed out: ICMP ${err.kind}`)
}

/**
 * RFC 1191 (IPv4), RFC 8201 (IPv6, a Packet Too Big): the path MTU is `mtu`; make our segments
 * fit and resend what is in flight. SND.MSS floor: MIN_PMTU - 40 = 512, or 500 with timestamps;
 * over IPv6 the minimum link MTU, 1280 (RFC 8201 4: never below it), less 60: 1220, or 1208.
 */
function lowerMss(tcb: Tcb, mtu: number): void {
  const counters = tcb.host.counters
  const pmtu = Math.max(mtu, isV6(tcb.remoteAddr) ? IPV6_MIN_MTU : MIN_PMTU)
  // Our SYN carried Fast Open data and was too big for the path: a plain SYN goes now (fast-open-client.ts).
  if (tcb.state === 'SYN-SENT' && (tcb.fastOpen?.synData ?? 0) > 0) return synDataTooBig(tcb, pmtu)
  if (tcb.state === 'SYN-SENT') return synPathMtu(tcb, pmtu)
  // IP and TCP headers, and the timestamp option every segment carries once negotiated (as takeMss).
  const mss = pmtu - tcpOverhead(tcb.remoteAddr) - (tcb.tsOk ? TIMESTAMPS_LENGTH : 0)
  if (mss >= tcb.sndMss) return counters.drop('icmp-frag-needed-not-smaller')
  tcb.sndMss = mss
  tcb.pmtu = pmtu
  counters.pmtuReductions++
  const s = tcb.state
  if (s !== 'ESTABLISHED' && s !== 'CLOSE-WAIT' && s !== 'FIN-WAIT-1' && s !== 'CLOSING' && s !== 'LAST-ACK') return
  // Segments larger than the new MSS were all dropped: resend the flight, cut to it, as cwnd allows.
  pathMtuReduced(tcb)
}

/**
 * Frag needed for our plain SYN (Linux's tcp_v4_mtu_reduced in SYN-SENT): the peer's MSS is not
 * known yet, so the path MTU bounds ours: the MSS option of our next SYN (Linux takes it from the
 * route), and the peer's MSS when its SYN,ACK comes (takeMss). The SYN itself fits and stays.
 */
function synPathMtu(tcb: Tcb, pmtu: number): void {
  const mss = pmtu - tcpOverhead(tcb.remoteAddr) // 40 bytes of headers over IPv4, 60 over IPv6
  if (mss >= tcb.rcvMss) return tcb.host.counters.drop('icmp-frag-needed-not-smaller')
  tcb.rcvMss = mss
  tcb.sndMss = Math.min(tcb.sndMss, mss)
  tcb.pmtu = pmtu
  tcb.host.counters.pmtuReductions++
}

/** Net or host unreachable, or time exceeded: the peer of this half-open connection is not there. */
function dropsHalfOpen(err: IcmpError): boolean {
  return err.kind === 'time-exceeded' || (err.kind === 'unreachable' && (err.code === 0 || err.code === 1))
}

/** The socket error for a destination unreachable code (as Linux's icmp_err_convert). */
function icmpTcpError(tcb: Tcb, code: number): TcpError {
  let errno: TcpErrorCode = 'EHOSTUNREACH'
  let what = 'host unreachable'
  if (code === 2 || code === 3) [errno, what] = ['ECONNREFUSED', code === 2 ? 'protocol unreachable' : 'port unreachable']
  else if (code === 0 || code === 6 || code === 9 || code === 11) [errno, what] = ['ENETUNREACH', 'network unreachable']
  else if (code === 10 || code === 13) what = 'administratively prohibited'
  return new TcpError(errno, `connection to ${tcb.label}: ${what} (ICMP)`)
}
