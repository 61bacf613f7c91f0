// ICMP lines of a script: `< icmp unreachable frag_needed mtu 1200 [0:1000(1000)]`. The
// names are packetdrill's (icmp_packet.c in google/packetdrill: tcpdump's, and `type_N`,
// `code_N` for any other); the message is a real ICMPv4 error from the script's peer
// (RFC 792), quoting, as routers do, the IP header and the first 8 bytes of one of the
// stack's segments: its ports and its sequence number, numbered as the stack's segments
// are in the script, so 0 is the stack's ISN. Without `[...]` the quoted segment starts at 0.
// The stack's own ICMP handling then judges it (ip/icmp-errors.ts, tcp/icmp-errors.ts).

import { ICMP_CODE_FRAG_NEEDED, ICMP_DEST_UNREACHABLE, buildIcmpPacket } from '../../stack/wire/icmp.js'
import { IPPROTO_TCP, IPV4_HEADER_LENGTH, writeIPv4Header, writeU32 } from '../../stack/wire/ipv4.js'

/** ICMPv4 types by packetdrill's names (RFC 792, RFC 950). */
export const ICMP_TYPES: Readonly<Record<string, number>> = {
  echo_reply: 0, unreachable: 3, source_quench: 4, redirect: 5, echo_request: 8, time_exceeded: 11,
  parameter_problem: 12, timestamp_request: 13, timestamp_reply: 14, information_request: 15,
  information_reply: 16, address_mask_request: 17, address_mask_reply: 18,
}

/** Destination unreachable codes by packetdrill's names (RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1). */
export const ICMP_UNREACHABLE_CODES: Readonly<Record<string, number>> = {
  net_unreachable: 0, host_unreachable: 1, protocol_unreachable: 2, port_unreachable: 3, frag_needed: 4,
  source_route_failed: 5, net_unknown: 6, host_unknown: 7, source_host_isolated: 8, net_prohibited: 9,
  host_prohibited: 10, net_unreachable_for_tos: 11, host_unreachable_for_tos: 12, packet_filtered: 13,
  precedence_violation: 14, precedence_cutoff: 15,
}

/** Bytes of the quoted datagram after its IP header that an ICMP error carries (RFC 792). */
const QUOTED_TRANSPORT_BYTES = 8

/** What the quote needs: both ends of the connection and the quoted segment's sequence number and payload length. */
export interface IcmpQuoteFields {
  /** The stack's address and port (the quoted segment's source), the peer's (its destination). */
  local: number
  localPort: number
  remote: number
  remotePort: number
  seq: number
  len: number
}

/**
 * The whole IP packet of an ICMP error from `remote` to `local`: type, code, `mtu` in the
 * next-hop MTU field for frag_needed (RFC 1191 4), and the quote of the stack's segment.
 */
export function buildIcmpError(type: number, code: number, mtu: number | undefined, q: IcmpQuoteFields): Uint8Array {
  const quote = new Uint8Array(IPV4_HEADER_LENGTH + QUOTED_TRANSPORT_BYTES)
  // The quoted IP header says how long the segment was: 20 + 20 + payload (as packetdrill writes it).
  writeIPv4Header(quote, 0, { src: q.local, dst: q.remote, protocol: IPPROTO_TCP, payloadLength: 20 + q.len })
  const o = IPV4_HEADER_LENGTH
  quote[o] = q.localPort >>> 8
  quote[o + 1] = q.localPort & 0xff
  quote[o + 2] = q.remotePort >>> 8
  quote[o + 3] = q.remotePort & 0xff
  writeU32(quote, o + 4, q.seq)
  const fragNeeded = type === ICMP_DEST_UNREACHABLE && code === ICMP_CODE_FRAG_NEEDED
  return buildIcmpPacket({ src: q.remote, dst: q.local, type, code, rest: fragNeeded ? (mtu ?? 0) & 0xffff : 0, body: quote })
}
