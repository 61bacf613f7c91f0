// The kernel's own IPv6 on the link. A TUN device that comes up gets an IPv6 link-local
// address, and the kernel then sends router solicitations (RFC 4861 6.3.7) and MLD reports
// for the multicast groups it joins (RFC 3810), whatever the stack speaks. We speak IPv4
// only: such packets are named by kind and counted apart (Counters.ignored), not as
// IPv4 errors. Only the headers are read, and only as far as the bytes go.

/** What an IPv6 packet is, as a counter name. */
export type Ipv6Kind = 'ipv6-router-solicitation' | 'ipv6-mld' | 'ipv6-neighbor-discovery' | 'ipv6-other'

const IPV6_HEADER_LENGTH = 40
const NEXT_ICMPV6 = 58
/** Extension headers shaped <next header, length in 8-octet units beyond the first 8> (RFC 8200 4.3, 4.4, 4.6). */
const HOP_BY_HOP = 0
const ROUTING = 43
const DESTINATION_OPTIONS = 60
/** More extension headers than this, and the packet is "other": the walk stays bounded. */
const MAX_EXTENSION_HEADERS = 8

const ROUTER_SOLICITATION = 133
/** MLD query, v1 report, done (RFC 2710) and v2 report (RFC 3810 5.2). */
const MLD_TYPES = new Set([130, 131, 132, 143])
/** Router advertisement, neighbor solicitation and advertisement, redirect (RFC 4861 4). */
const ND_TYPES = new Set([134, 135, 136, 137])

/** Is this an IPv6 packet (version nibble 6)? */
export function isIpv6(packet: Uint8Array): boolean {
  return packet.length > 0 && packet[0]! >> 4 === 6
}

/** The kind of an IPv6 packet: walk the extension headers (MLD comes after a hop-by-hop header) to an ICMPv6 type. */
export function ipv6Kind(packet: Uint8Array): Ipv6Kind {
  if (packet.length < IPV6_HEADER_LENGTH) return 'ipv6-other'
  let next = packet[6]!
  let at = IPV6_HEADER_LENGTH
  for (let n = 0; n < MAX_EXTENSION_HEADERS && (next === HOP_BY_HOP || next === ROUTING || next === DESTINATION_OPTIONS); n++) {
    if (at + 2 > packet.length) return 'ipv6-other'
    next = packet[at]!
    at += (packet[at + 1]! + 1) * 8
  }
  if (next !== NEXT_ICMPV6 || at >= packet.length) return 'ipv6-other'
  const type = packet[at]!
  if (type === ROUTER_SOLICITATION) return 'ipv6-router-solicitation'
  if (MLD_TYPES.has(type)) return 'ipv6-mld'
  if (ND_TYPES.has(type)) return 'ipv6-neighbor-discovery'
  return 'ipv6-other'
}
