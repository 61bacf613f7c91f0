// ICMP error messages (RFC 792) about datagrams we sent: destination
// unreachable, time exceeded, parameter problem, source quench. The IP layer
// checks that the quoted datagram is one of ours and is TCP, then hands a
// plain IcmpError to the TCP layer, which finds the connection and judges it
// (src/stack/tcp/icmp-errors.ts: the RFC 5927 sequence check, RFC 1191, RFC 1122 4.2.3.9).

import type { Counters } from '../counters.js'
import {
  ICMP_CODE_FRAG_NEEDED, ICMP_DEST_UNREACHABLE, ICMP_PARAMETER_PROBLEM, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED,
  parseIcmpQuote, type IcmpMessage,
} from '../wire/icmp.js'
import { IPPROTO_TCP } from '../wire/ipv4.js'

/** What an ICMP error means for TCP, with the segment it quotes. */
export interface IcmpError {
  /**
   * 'frag-needed': a router could not forward our DF segment (RFC 1191), `mtu` says how big it may be;
   * 'unreachable': any other destination unreachable code; 'time-exceeded', 'parameter-problem';
   * 'source-quench' (ignored, RFC 6633).
   */
  kind: 'frag-needed' | 'unreachable' | 'time-exceeded' | 'parameter-problem' | 'source-quench'
  /** The ICMP code (for 'unreachable': net 0, host 1, protocol 2, port 3, ... prohibited 9, 10, 13). */
  code: number
  /**
   * For 'frag-needed': the next-hop MTU from the message, or, when the router left it 0 (before
   * RFC 1191), the RFC 1191 section 5 plateau below the quoted datagram's length.
   */
  mtu: number
  /** The connection the quoted segment belongs to. */
  remoteAddr: number
  localPort: number
  remotePort: number
  /** The quoted segment's sequence number (RFC 5927 checks it is in flight). */
  seq: number
}

/** Is this ICMP type an error about a datagram (as opposed to a query like echo)? */
export function isIcmpError(type: number): boolean {
  return type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM ||
    type === ICMP_SOURCE_QUENCH
}

/**
 * Decode an ICMP error into an IcmpError for TCP, or null when it is dropped
 * (counted): the quote is malformed, not TCP, or not a datagram we sent.
 */
export function decodeIcmpError(icmp: IcmpMessage, localAddress: number, counters: Counters): IcmpError | null {
  const q = parseIcmpQuote(icmp.body)
  if (!q.ok) {
    counters.drop(q.reason)
    return null
  }
  const quote = q.value
  if (quote.protocol !== IPPROTO_TCP) {
    counters.drop('icmp-error-not-tcp')
    return null
  }
  if (quote.src !== localAddress) {
    counters.drop('icmp-error-not-ours')
    return null
  }
  const base = { code: icmp.code, mtu: 0, remoteAddr: quote.dst, localPort: quote.srcPort, remotePort: quote.dstPort, seq: quote.seq }
  switch (icmp.type) {
    case ICMP_DEST_UNREACHABLE:
      if (icmp.code === ICMP_CODE_FRAG_NEEDED) {
        const mtu = icmp.rest & 0xffff // RFC 1191 4: the low 16 bits, "Next-Hop MTU"
        return { ...base, kind: 'frag-needed', mtu: mtu !== 0 ? mtu : plateauBelow(quote.totalLength) }
      }
      return { ...base, kind: 'unreachable' }
    case ICMP_TIME_EXCEEDED:
      return { ...base, kind: 'time-exceeded' }
    case ICMP_PARAMETER_PROBLEM:
      return { ...base, kind: 'parameter-problem' }
    default:
      return { ...base, kind: 'source-quench' }
  }
}

/** RFC 1191 section 7's table of common MTUs ("plateaus"). */
const PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68]

/** RFC 1191 5: a router that sends no MTU: guess the largest plateau below the datagram that was too big. */
function plateauBelow(totalLength: number): number {
  for (const p of PLATEAUS) if (p < totalLength) return p
  return 68
}
