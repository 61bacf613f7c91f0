// IPv6 input (RFC 8200, RFC 4443): validate, check the destination, hand TCP segments
// to the one TCP layer (with RFC 5952 text addresses, wire/address.ts), answer echo
// requests to our IPv6 address (RFC 4443 4.2), give ICMPv6 errors about our segments
// to TCP (Packet Too Big lowers the path MTU, RFC 8201), and count the kernel's own
// neighbour discovery and MLD (a TUN link is layer 3: no NDP is needed). UDP datagrams
// go to the one UDP layer the same way, and one no socket takes gets a port unreachable
// (RFC 4443 3.1, code 4). Any other next header gets RFC 8200 4's answer to one a node
// does not process, a Parameter Problem (code 1) pointing at it.
// Without an IPv6 address (StackOptions.address6) every IPv6 packet is only counted.

import type { Counters } from '../counters.js'
import { decodeIcmpv6Error, type IcmpError } from './icmp-errors.js'
import type { IcmpErrorSender, UdpVerdict } from './icmp-out.js'
import { ipv6Kind, linkKind } from './ipv6-chatter.js'
import { fromBytesV6, type Address } from '../wire/address.js'
import {
  ICMPV6_CODE_PORT_UNREACHABLE, ICMPV6_DEST_UNREACHABLE, ICMPV6_ECHO_REQUEST, ICMPV6_PARAMETER_PROBLEM, buildEchoReplyV6,
  isIcmpv6Error, parseIcmpv6,
} from '../wire/icmpv6.js'
import { IPPROTO_TCP } from '../wire/ipv4.js'
import { IPPROTO_ICMPV6, NEXT_NONE, parseIPv6, type IPv6Address } from '../wire/ipv6.js'
import { parseTcp, type TcpSegment } from '../wire/tcp.js'
import { IPPROTO_UDP, parseUdp, type UdpDatagram } from '../wire/udp.js'

/** Parameter Problem code 1: unrecognized Next Header type encountered (RFC 4443 3.4). */
export const ICMPV6_CODE_UNRECOGNIZED_NEXT_HEADER = 1

export interface Ipv6InputOptions {
  /** Our IPv6 address, or null: IPv6 off, packets only counted by kind. */
  address6: IPv6Address | null
  /** Any-destination mode (StackOptions.promiscuous): echo requests to any unicast address are answered from it. */
  promiscuous?: boolean
  counters: Counters
  output(packet: Uint8Array): void
  icmpErrors?: IcmpErrorSender
  /** A valid TCP segment addressed to us (or to anyone, promiscuous); addresses in RFC 5952 text. */
  tcpInput?(src: Address, dst: Address, seg: TcpSegment): void
  /** An ICMPv6 error about a TCP segment we sent. */
  tcpIcmpError?(err: IcmpError): void
  /** A valid UDP datagram (the UDP layer's verdict decides whether a port unreachable goes back). */
  udpInput?(src: Address, dst: Address, dgram: UdpDatagram): UdpVerdict
  /** An ICMPv6 error about a UDP datagram we sent. */
  udpIcmpError?(err: IcmpError): void
}

export class Ipv6Input {
  constructor(private readonly opts: Ipv6InputOptions) {}

  /**
   * One IPv6 packet from the link; anything malformed is dropped and counted, never thrown.
   * `checksumTrusted`: the link checked the TCP checksum already (offload).
   */
  input(packet: Uint8Array, checksumTrusted = false): void {
    const { counters, address6 } = this.opts
    if (address6 === null) return counters.ignore(ipv6Kind(packet))
    const ip = parseIPv6(packet)
    if (!ip.ok) return counters.drop(ip.reason)
    const { header, payload } = ip.value
    const icmp = header.protocol === IPPROTO_ICMPV6 ? parseIcmpv6(payload, header.src, header.dst) : null
    if (icmp !== null && !icmp.ok) return counters.drop(icmp.reason)
    // The link's own neighbour discovery and MLD (RFC 4861 4, RFC 2710, RFC 3810): counted, not answered.
    const link = icmp !== null ? linkKind(icmp.value.type) : null
    if (link !== null) return counters.ignore(link)
    const ours = sameAddress(header.dst, address6)
    if (!ours && !(this.opts.promiscuous === true && header.dst[0] !== 0xff)) return counters.drop('ip-not-for-us')
    if (header.protocol === IPPROTO_TCP && this.opts.tcpInput !== undefined) {
      const seg = parseTcp(payload, header.src, header.dst, !checksumTrusted)
      if (!seg.ok) return counters.drop(seg.reason)
      seg.value.ecn = header.trafficClass & 3 // RFC 3168 5 (RFC 8200 7): the ECN field, for TCP's echo
      return this.opts.tcpInput(fromBytesV6(header.src), fromBytesV6(header.dst), seg.value)
    }
    if (header.protocol === IPPROTO_UDP && this.opts.udpInput !== undefined) {
      const dgram = parseUdp(payload, header.src, header.dst, !checksumTrusted)
      if (!dgram.ok) return counters.drop(dgram.reason)
      if (this.opts.udpInput(fromBytesV6(header.src), fromBytesV6(header.dst), dgram.value) !== 'port-unreachable') return
      // From the address it was sent to: in promiscuous mode, the host the sender meant.
      this.opts.icmpErrors?.sendV6(header, packet, ICMPV6_DEST_UNREACHABLE, ICMPV6_CODE_PORT_UNREACHABLE, 0, header.dst)
      return
    }
    if (icmp !== null) {
      if (isIcmpv6Error(icmp.value.type)) return this.icmpError(decodeIcmpv6Error(icmp.value, counters))
      if (icmp.value.type !== ICMPV6_ECHO_REQUEST) return counters.drop('icmp-unhandled-type')
      counters.pingsAnswered++
      return this.opts.output(buildEchoReplyV6(ip.value, icmp.value, header.dst)) // from the address pinged
    }
    // RFC 8200 4.7: after No Next Header there is nothing to process, and nothing to answer.
    if (header.protocol === NEXT_NONE) return counters.ignore('ipv6-no-next-header')
    counters.drop('ipv6-protocol')
    this.opts.icmpErrors?.sendV6(header, packet, ICMPV6_PARAMETER_PROBLEM, ICMPV6_CODE_UNRECOGNIZED_NEXT_HEADER, header.protocolOffset, header.dst)
  }

  /** An ICMPv6 error to TCP or UDP, if it quotes what we sent (they find the connection or socket by its 4-tuple). */
  private icmpError(err: IcmpError | null): void {
    if (err === null) return
    const { counters, address6 } = this.opts
    if (err.protocol !== IPPROTO_TCP && err.protocol !== IPPROTO_UDP) return counters.drop('icmp-error-protocol')
    const fromUs = (address6 !== null && err.localAddr === fromBytesV6(address6)) || this.opts.promiscuous === true
    const handler = err.protocol === IPPROTO_TCP ? this.opts.tcpIcmpError : this.opts.udpIcmpError
    if (!fromUs || handler === undefined) return counters.drop('icmp-error-not-ours')
    handler(err)
  }
}

/** Are two 16-byte addresses the same? */
export function sameAddress(a: IPv6Address, b: IPv6Address): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false
  return true
}
