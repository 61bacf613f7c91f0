// IPv4 input (RFC 791, RFC 1122 3.3): validate, check the destination, and
// hand the payload to TCP, UDP or ICMP. ICMP echo requests are answered here (RFC 792),
// in any-destination mode for every unicast address, from the address they were sent to;
// and a UDP datagram no socket takes gets a port unreachable (RFC 1122 4.1.3.1, icmp-out.ts).
// IPv6 packets go to ipv6-input.ts.

import type { Counters } from '../counters.js'
import { decodeIcmpError, isIcmpError, type IcmpError } from './icmp-errors.js'
import { ICMP_CODE_PORT_UNREACHABLE, type IcmpErrorSender, type UdpVerdict } from './icmp-out.js'
import { isIpv6 } from './ipv6-chatter.js'
import { Ipv6Input } from './ipv6-input.js'
import { ICMP_DEST_UNREACHABLE, ICMP_ECHO_REQUEST, buildEchoReply, parseIcmp } from '../wire/icmp.js'
import { IPPROTO_ICMP, IPPROTO_TCP, parseIPv4 } from '../wire/ipv4.js'
import { parseTcp, type TcpSegment } from '../wire/tcp.js'
import type { Address } from '../wire/address.js'
import { IPPROTO_UDP, parseUdp, type UdpDatagram } from '../wire/udp.js'

export type { UdpVerdict } from './icmp-out.js'

export interface IpLayerOptions {
  address: number
  /** Our IPv6 address (16 bytes), or null for IPv4 only. */
  address6?: Uint8Array | null
  /**
   * Any-destination mode (StackOptions.promiscuous): take TCP segments, UDP datagrams, echo
   * requests and ICMP errors about what we sent, addressed to any address; each is answered
   * from the address it was sent to.
   */
  promiscuous?: boolean
  counters: Counters
  /** Send one IP packet. */
  output(packet: Uint8Array): void
  /** A valid TCP segment addressed to us, over either family (wire/address.ts). */
  tcpInput(src: Address, dst: Address, seg: TcpSegment): void
  /** An ICMP error about a TCP segment we sent (icmp-errors.ts). */
  tcpIcmpError?(err: IcmpError): void
  /** A valid UDP datagram, over either family. */
  udpInput?(src: Address, dst: Address, dgram: UdpDatagram): UdpVerdict
  /** An ICMP error about a UDP datagram we sent. */
  udpIcmpError?(err: IcmpError): void
  /** Sends (and rate-limits) the ICMP errors we originate. */
  icmpErrors?: IcmpErrorSender
}

export class IpLayer {
  private readonly v6: Ipv6Input

  constructor(private readonly opts: IpLayerOptions) {
    this.v6 = new Ipv6Input({
      address6: opts.address6 ?? null, promiscuous: opts.promiscuous, counters: opts.counters, output: opts.output,
      icmpErrors: opts.icmpErrors, tcpInput: opts.tcpInput, tcpIcmpError: opts.tcpIcmpError,
      udpInput: opts.udpInput, udpIcmpError: opts.udpIcmpError,
    })
  }

  /**
   * One packet from the link. Anything malformed is dropped and counted, never thrown.
   * `checksumTrusted`: the link checked the TCP or UDP checksum already (offload).
   */
  input(packet: Uint8Array, checksumTrusted = false): void {
    const { counters, address } = this.opts
    if (isIpv6(packet)) return this.v6.input(packet, checksumTrusted)
    const ip = parseIPv4(packet)
    if (!ip.ok) return counters.drop(ip.reason)
    const { header, payload } = ip.value
    const ours = header.dst === address
    if (!ours && this.opts.promiscuous !== true) return counters.drop('ip-not-for-us')
    switch (header.protocol) {
      case IPPROTO_TCP: {
        const seg = parseTcp(payload, header.src, header.dst, !checksumTrusted)
        if (!seg.ok) return counters.drop(seg.reason)
        seg.value.ecn = header.tos & 3 // RFC 3168 5: the ECN field, for TCP's echo (tcp/ecn.ts)
        return this.opts.tcpInput(header.src, header.dst, seg.value)
      }
      case IPPROTO_UDP: {
        const dgram = parseUdp(payload, header.src, header.dst, !checksumTrusted)
        if (!dgram.ok) return counters.drop(dgram.reason)
        if (this.opts.udpInput?.(header.src, header.dst, dgram.value) !== 'port-unreachable') return
        // From the address it was sent to: in promiscuous mode, the host the sender meant.
        this.opts.icmpErrors?.send(header, packet, ICMP_DEST_UNREACHABLE, ICMP_CODE_PORT_UNREACHABLE, header.dst)
        return
      }
      case IPPROTO_ICMP: {
        const icmp = parseIcmp(payload)
        if (!icmp.ok) return counters.drop(icmp.reason)
        if (isIcmpError(icmp.value.type)) return this.icmpError(decodeIcmpError(icmp.value, counters))
        if (icmp.value.type !== ICMP_ECHO_REQUEST) return counters.drop('icmp-unhandled-type')
        // From the address pinged; never from a multicast or broadcast one (RFC 1122 3.2.1.3).
        if (!ours && header.dst >>> 28 >= 0xe) return counters.drop('icmp-echo-not-unicast')
        counters.pingsAnswered++
        return this.opts.output(buildEchoReply(ip.value, icmp.value, header.dst))
      }
      default:
        return counters.drop('ip-protocol')
    }
  }

  /** An ICMP error to the layer that sent the datagram it quotes, if we sent it. */
  private icmpError(err: IcmpError | null): void {
    if (err === null) return
    const { counters, address } = this.opts
    // We send from our address, or in promiscuous mode from any: TCP and UDP find the connection or socket by its 4-tuple.
    const fromUs = err.localAddr === address || this.opts.promiscuous === true
    if (err.protocol !== IPPROTO_TCP && err.protocol !== IPPROTO_UDP) return counters.drop('icmp-error-protocol')
    if (!fromUs) return counters.drop('icmp-error-not-ours')
    if (err.protocol === IPPROTO_TCP) this.opts.tcpIcmpError?.(err)
    else this.opts.udpIcmpError?.(err)
  }
}
