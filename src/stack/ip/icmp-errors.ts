// ICMP error messages (RFC 792) about datagrams we sent: destination
// unreachable, time exceeded, parameter problem, source quench. decodeIcmpError
// reads the quoted datagram into a plain IcmpError; the IP layer checks it is one
// of ours and hands it by protocol to TCP, which finds the connection and judges it
// (src/stack/tcp/icmp-errors.ts: the RFC 5927 sequence check, RFC 1191, RFC 1122 4.2.3.9),
// or to UDP, which reports it on a connected socket (src/stack/udp/icmp.ts).

import type { Address } from '../wire/address.js'
import type { Counters } from '../counters.js'
import {
  ICMP_CODE_FRAG_NEEDED, ICMP_DEST_UNREACHABLE, ICMP_PARAMETER_PROBLEM, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED,
  parseIcmpQuote, type IcmpMessage,
} from '../wire/icmp.js'
import {
  ICMPV6_CODE_ADDRESS_UNREACHABLE, ICMPV6_CODE_NO_ROUTE, ICMPV6_CODE_PORT_UNREACHABLE, ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG, ICMPV6_TIME_EXCEEDED, parseIcmpv6Quote, type Icmpv6Message,
} from '../wire/icmpv6.js'
import { fromBytesV6 } from '../wire/address.js'

/** What an ICMP error means for TCP or UDP, with the datagram it quotes. */
export interface IcmpError {
  /**
   * 'frag-needed': a router could not forward our DF segment (RFC 1191), `mtu` says how big it may be;
   * 'unreachable': any other destination unreachable code; 'time-exceeded', 'parameter-problem';
   * 'source-quench' (ignored, RFC 6633).
   */
  kind: 'frag-needed' | 'unreachable' | 'time-exceeded' | 'parameter-problem' | 'source-quench'
  /**
   * The ICMP code (for 'unreachable': net 0, host 1, protocol 2, port 3, ... prohibited 9, 10, 13). An
   * ICMPv6 destination unreachable is given the ICMPv4 code of the same meaning (decodeIcmpv6Error),
   * so TCP judges both families alike.
   */
  code: number
  /**
   * For 'frag-needed': the next-hop MTU from the message, or, when the router left it 0 (before
   * RFC 1191), the RFC 1191 section 5 plateau below the quoted datagram's length. Over IPv6 the
   * MTU of a Packet Too Big (RFC 4443 3.2, RFC 8201).
   */
  mtu: number
  /** The quoted datagram's protocol: IPPROTO_TCP or IPPROTO_UDP. */
  protocol: number
  /** Its source: the address we sent from (the stack's, or any in promiscuous mode). */
  localAddr: Address
  /** The connection or flow the quoted datagram belongs to. */
  remoteAddr: Address
  localPort: number
  remotePort: number
  /** The quoted segment's sequence number (RFC 5927 checks it is in flight); for UDP, its length and checksum. */
  seq: number
}

/** Is this ICMP type an error about a datagram (as opposed to a query like echo)? */
export function isIcmpError(type: number): boolean {
  return type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM ||
    type === ICMP_SOURCE_QUENCH
}

/**
 * Decode an ICMP error into an IcmpError, or null when its quote is malformed
 * (counted). Whether the quoted datagram is ours is the caller's to judge.
 */
export function decodeIcmpError(icmp: IcmpMessage, counters: Counters): IcmpError | null {
  const q = parseIcmpQuote(icmp.body)
  if (!q.ok) {
    counters.drop(q.reason)
    return null
  }
  const quote = q.value
  const base = {
    code: icmp.code, mtu: 0, protocol: quote.protocol, localAddr: quote.src, remoteAddr: quote.dst,
    localPort: quote.srcPort, remotePort: quote.dstPort, seq: quote.seq,
  }
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

/** ICMPv6 destination unreachable codes (RFC 4443 3.1) as the ICMPv4 codes of the same meaning (as Linux's icmpv6_err_convert). */
function unreachableCodeV4(code: number): number {
  if (code === ICMPV6_CODE_NO_ROUTE) return 0 // network unreachable: ENETUNREACH
  if (code === ICMPV6_CODE_ADDRESS_UNREACHABLE) return 1 // host unreachable: EHOSTUNREACH
  if (code === ICMPV6_CODE_PORT_UNREACHABLE) return 3 // port unreachable: ECONNREFUSED
  return 13 // administratively prohibited, beyond scope, failed policy, reject route
}

/**
 * Decode an ICMPv6 error (RFC 4443 3) into an IcmpError, or null when its quote is malformed
 * (counted) or its type is not an error we act on. The addresses are RFC 5952 text (wire/address.ts).
 */
export function decodeIcmpv6Error(icmp: Icmpv6Message, counters: Counters): IcmpError | null {
  const q = parseIcmpv6Quote(icmp.body)
  if (!q.ok) {
    counters.drop(q.reason)
    return null
  }
  const quote = q.value
  const base = {
    code: icmp.code, mtu: 0, protocol: quote.protocol, localAddr: fromBytesV6(quote.src), remoteAddr: fromBytesV6(quote.dst),
    localPort: quote.srcPort, remotePort: quote.dstPort, seq: quote.seq,
  }
  switch (icmp.type) {
    case ICMPV6_DEST_UNREACHABLE:
      return { ...base, kind: 'unreachable', code: unreachableCodeV4(icmp.code) }
    case ICMPV6_PACKET_TOO_BIG:
      return { ...base, kind: 'frag-needed', mtu: icmp.rest >>> 0 } // RFC 4443 3.2: the MTU of the next-hop link
    case ICMPV6_TIME_EXCEEDED:
      return { ...base, kind: 'time-exceeded' }
    default:
      return { ...base, kind: 'parameter-problem' }
  }
}
