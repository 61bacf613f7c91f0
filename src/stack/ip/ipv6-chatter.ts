// The kernel's own IPv6 on the link. A TUN device that comes up gets an IPv6 link-local
// address, and the kernel then sends router solicitations (RFC 4861 6.3.7) and MLD reports
// for the multicast groups it joins (RFC 3810), whatever the stack speaks. We speak IPv4
// only: such packets are named by kind and counted apart (Counters.ignored), not as
// IPv4 errors. Only the headers are read, and only as far as the bytes go.

import { IPPROTO_ICMPV6, parseIPv6 } from '../wire/ipv6.js'

/** What an IPv6 packet is, as a counter name. */
export type Ipv6Kind = 'ipv6-router-solicitation' | 'ipv6-mld' | 'ipv6-neighbor-discovery' | 'ipv6-other'

const ROUTER_SOLICITATION = 133
/** MLD query, v1 report, done (RFC 2710) and v2 report (RFC 3810 5.2). */
const MLD_TYPES = new Set([130, 131, 132, 143])
/** Router advertisement, neighbor solicitation and advertisement, redirect (RFC 4861 4). */
const ND_TYPES = new Set([134, 135, 136, 137])

/** Is this an IPv6 packet (version nibble 6)? */
export function isIpv6(packet: Uint8Array): boolean {
  return packet.length > 0 && packet[0]! >> 4 === 6
}

/** The kind of an IPv6 packet: its extension headers walked (MLD comes after a hop-by-hop header) to an ICMPv6 type. */
export function ipv6Kind(packet: Uint8Array): Ipv6Kind {
  const ip = parseIPv6(packet)
  if (!ip.ok || ip.value.header.protocol !== IPPROTO_ICMPV6 || ip.value.payload.length === 0) return 'ipv6-other'
  return linkKind(ip.value.payload[0]!) ?? 'ipv6-other'
}

/** The kind of the link's own ICMPv6 message of `type` (router solicitation, MLD, neighbour discovery), or null for any other type. */
export function linkKind(type: number): Ipv6Kind | null {
  if (type === ROUTER_SOLICITATION) return 'ipv6-router-solicitation'
  if (MLD_TYPES.has(type)) return 'ipv6-mld'
  if (ND_TYPES.has(type)) return 'ipv6-neighbor-discovery'
  return null
}
