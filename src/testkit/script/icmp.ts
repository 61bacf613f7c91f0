// The ICMP lines of a script (`< icmp unreachable port_unreachable [0:0(0)]`) as packetdrill
// reads them (gtests/net/packetdrill/icmp_packet.c): the type and code are names, looked up in
// the table of the wire's family, so the same words make an ICMPv4 message over IPv4 (RFC 792)
// and an ICMPv6 one over IPv6 (RFC 4443). A name only one family has (frag_needed is IPv4's,
// packet_too_big IPv6's) is refused on the other, as packetdrill refuses it.

import type { IcmpSpec } from './ast.js'

/** The family of the packets on the wire (--ip_version=ipv4-mapped-ipv6 puts IPv4 there). */
export type WireFamily = 'ipv4' | 'ipv6'

/** A message as it goes on the wire: type, code, and the second word (the MTU of frag_needed or packet_too_big). */
export interface IcmpMessage {
  type: number
  code: number
  rest: number
}

/** ICMPv4 destination unreachable codes by packetdrill's names, in code order (RFC 792, RFC 1191, RFC 1812). */
const UNREACHABLE_V4 = [
  'net_unreachable', 'host_unreachable', 'protocol_unreachable', 'port_unreachable', 'frag_needed',
  'source_route_failed', 'net_unknown', 'host_unknown', 'source_host_isolated', 'net_prohibited',
  'host_prohibited', 'net_unreachable_for_tos', 'host_unreachable_for_tos', 'packet_filtered',
  'precedence_violation', 'precedence_cutoff',
]

/** ICMPv6 destination unreachable codes by packetdrill's names (RFC 4443 3.1); net_unreachable is code 0, no route, as there. */
const UNREACHABLE_V6: Readonly<Record<string, number>> = {
  net_unreachable: 0, no_route: 0, admin_prohibited: 1, not_neighbour: 2, address_unreachable: 3, port_unreachable: 4,
}

/** The types an ICMP line may name, per family: the errors TCP acts on. */
const TYPES: Readonly<Record<WireFamily, Readonly<Record<string, { type: number; codes: Readonly<Record<string, number>> }>>>> = {
  ipv4: { unreachable: { type: 3, codes: Object.fromEntries(UNREACHABLE_V4.map((name, code) => [name, code])) } },
  ipv6: { unreachable: { type: 1, codes: UNREACHABLE_V6 }, packet_too_big: { type: 2, codes: {} } },
}

/** Every type name either family knows, for the parser (which cannot know the family: the command line may change it). */
export const ICMP_TYPE_NAMES = [...new Set([...Object.keys(TYPES.ipv4), ...Object.keys(TYPES.ipv6)])]

/** The code names either family knows for a type, for the parser's message. */
export function icmpCodeNames(typeName: string): string[] {
  return [...new Set([...Object.keys(TYPES.ipv4[typeName]?.codes ?? {}), ...Object.keys(TYPES.ipv6[typeName]?.codes ?? {})])]
}

/**
 * The message a line makes over `family`, or why it cannot: a name the family lacks, or an
 * MTU where the family has none (ICMPv4: only unreachable frag_needed, RFC 1191 4; ICMPv6:
 * only packet_too_big, RFC 4443 3.2). No code is code 0, as in packetdrill.
 */
export function icmpMessage(spec: IcmpSpec, family: WireFamily): IcmpMessage | string {
  const v = family === 'ipv4' ? 'ICMPv4' : 'ICMPv6'
  const t = TYPES[family][spec.message]
  if (t === undefined) return `${v} has no message ${spec.message} (${Object.keys(TYPES[family]).join(', ')})`
  const code = spec.codeName === undefined ? 0 : t.codes[spec.codeName]
  if (code === undefined) return `${v} ${spec.message} has no code ${spec.codeName} (${Object.keys(t.codes).join(', ') || 'none'})`
  const mtuAllowed = family === 'ipv4' ? spec.message === 'unreachable' && code === 4 : spec.message === 'packet_too_big'
  if (spec.mtu !== undefined && !mtuAllowed) return `${v} MTU is only valid for ${family === 'ipv4' ? 'unreachable frag_needed' : 'packet_too_big'}`
  return { type: t.type, code, rest: spec.mtu ?? 0 }
}
