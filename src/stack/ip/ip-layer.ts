// IPv4 input (RFC 791, RFC 1122 3.3): validate, check the destination, and
// hand the payload to TCP or ICMP. ICMP echo requests are answered here (RFC 792).
// The kernel's own IPv6 on the link is counted by kind and ignored (ipv6-chatter.ts).

import type { Counters } from '../counters.js'
import { decodeIcmpError, isIcmpError, type IcmpError } from './icmp-errors.js'
import { ipv6Kind, isIpv6 } from './ipv6-chatter.js'
import { ICMP_ECHO_REQUEST, buildEchoReply, parseIcmp } from '../wire/icmp.js'
import { IPPROTO_ICMP, IPPROTO_TCP, parseIPv4 } from '../wire/ipv4.js'
import { parseTcp, type TcpSegment } from '../wire/tcp.js'

export interface IpLayerOptions {
  address: number
  counters: Counters
  /** Send one IP packet. */
  output(packet: Uint8Array): void
  /** A valid TCP segment addressed to us. */
  tcpInput(src: number, dst: number, seg: TcpSegment): void
  /** An ICMP error about a TCP segment we sent (icmp-errors.ts). */
  tcpIcmpError?(err: IcmpError): void
}

export class IpLayer {
  constructor(private readonly opts: IpLayerOptions) {}

  /**
   * One packet from the link. Anything malformed is dropped and counted, never thrown.
   * `checksumTrusted`: the link checked the TCP checksum already (offload).
   */
  input(packet: Uint8Array, checksumTrusted = false): void {
    const { counters, address } = this.opts
    // Not an IPv4 error: an IPv6 packet is another protocol, and the kernel sends some on any new link.
    if (isIpv6(packet)) return counters.ignore(ipv6Kind(packet))
    const ip = parseIPv4(packet)
    if (!ip.ok) return counters.drop(ip.reason)
    const { header, payload } = ip.value
    if (header.dst !== address) return counters.drop('ip-not-for-us')
    switch (header.protocol) {
      case IPPROTO_TCP: {
        const seg = parseTcp(payload, header.src, header.dst, !checksumTrusted)
        if (!seg.ok) return counters.drop(seg.reason)
        return this.opts.tcpInput(header.src, header.dst, seg.value)
      }
      case IPPROTO_ICMP: {
        const icmp = parseIcmp(payload)
        if (!icmp.ok) return counters.drop(icmp.reason)
        if (isIcmpError(icmp.value.type)) {
          const err = decodeIcmpError(icmp.value, address, counters)
          if (err !== null) this.opts.tcpIcmpError?.(err)
          return
        }
        if (icmp.value.type !== ICMP_ECHO_REQUEST) return counters.drop('icmp-unhandled-type')
        counters.pingsAnswered++
        return this.opts.output(buildEchoReply(ip.value, icmp.value, address))
      }
      default:
        return counters.drop('ip-protocol')
    }
  }
}
