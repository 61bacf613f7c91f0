// IPv6 input (RFC 8200, RFC 4443): validate, check the destination, answer echo
// requests to our IPv6 address (RFC 4443 4.2), and count the kernel's own neighbour
// discovery and MLD (a TUN link is layer 3: no NDP is needed). TCP and UDP are not
// carried over IPv6 yet: a segment or datagram for us gets RFC 8200 4's answer to a
// next header a node does not process, a Parameter Problem (code 1) pointing at it,
// which a kernel client reports at once as a protocol error (EPROTO) instead of waiting.
// Without an IPv6 address (StackOptions.address6) every IPv6 packet is only counted.

import type { Counters } from '../counters.js'
import type { IcmpErrorSender } from './icmp-out.js'
import { ipv6Kind } from './ipv6-chatter.js'
import {
  ICMPV6_ECHO_REQUEST, ICMPV6_PARAMETER_PROBLEM, buildEchoReplyV6, isIcmpv6Error, parseIcmpv6,
} from '../wire/icmpv6.js'
import { IPPROTO_ICMPV6, NEXT_NONE, parseIPv6, type IPv6Address } from '../wire/ipv6.js'

/** Parameter Problem code 1: unrecognized Next Header type encountered (RFC 4443 3.4). */
export const ICMPV6_CODE_UNRECOGNIZED_NEXT_HEADER = 1

/** Neighbour discovery (RFC 4861 4) and MLD (RFC 2710, RFC 3810) message types: the link's own chatter. */
const LINK_TYPES = new Set([130, 131, 132, 133, 134, 135, 136, 137, 143])

export interface Ipv6InputOptions {
  /** Our IPv6 address, or null: IPv6 off, packets only counted by kind. */
  address6: IPv6Address | null
  /** Any-destination mode (StackOptions.promiscuous): echo requests to any unicast address are answered from it. */
  promiscuous?: boolean
  counters: Counters
  output(packet: Uint8Array): void
  icmpErrors?: IcmpErrorSender
}

export class Ipv6Input {
  constructor(private readonly opts: Ipv6InputOptions) {}

  /** One IPv6 packet from the link; anything malformed is dropped and counted, never thrown. */
  input(packet: Uint8Array): void {
    const { counters, address6 } = this.opts
    if (address6 === null) return counters.ignore(ipv6Kind(packet))
    const ip = parseIPv6(packet)
    if (!ip.ok) return counters.drop(ip.reason)
    const { header, payload } = ip.value
    const icmp = header.protocol === IPPROTO_ICMPV6 ? parseIcmpv6(payload, header.src, header.dst) : null
    if (icmp !== null && !icmp.ok) return counters.drop(icmp.reason)
    if (icmp !== null && LINK_TYPES.has(icmp.value.type)) return counters.ignore(ipv6Kind(packet))
    const ours = sameAddress(header.dst, address6)
    if (!ours && !(this.opts.promiscuous === true && header.dst[0] !== 0xff)) return counters.drop('ip-not-for-us')
    if (icmp !== null) {
      // No TCP or UDP over IPv6 yet, so no error can be about something we sent.
      if (isIcmpv6Error(icmp.value.type)) return counters.drop('icmp-error-not-ours')
      if (icmp.value.type !== ICMPV6_ECHO_REQUEST) return counters.drop('icmp-unhandled-type')
      counters.pingsAnswered++
      return this.opts.output(buildEchoReplyV6(ip.value, icmp.value, header.dst)) // from the address pinged
    }
    // RFC 8200 4.7: after No Next Header there is nothing to process, and nothing to answer.
    if (header.protocol === NEXT_NONE) return counters.ignore('ipv6-no-next-header')
    counters.drop('ipv6-protocol')
    this.opts.icmpErrors?.sendV6(header, packet, ICMPV6_PARAMETER_PROBLEM, ICMPV6_CODE_UNRECOGNIZED_NEXT_HEADER, header.protocolOffset, header.dst)
  }
}

/** Are two 16-byte addresses the same? */
export function sameAddress(a: IPv6Address, b: IPv6Address): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false
  return true
}
