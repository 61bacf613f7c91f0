// ICMP error messages we send (RFC 792, RFC 1122 3.2.2): "port unreachable" for a UDP
// datagram no socket takes (RFC 1122 4.1.3.1), and over IPv6 (RFC 4443) a parameter
// problem for a next header we do not process. Each quotes the datagram that caused it,
// and two limits keep us from being an amplifier:
//
// - RFC 1122 3.2.2 says when never to send one: about an ICMP error, about a datagram
//   to a broadcast or multicast address, or from an address that is not one host
//   (0.0.0.0/8, loopback, multicast, class E, broadcast): the answer would go to many,
//   or to nobody. RFC 4443 2.4(e) says the same for IPv6.
// - RFC 1812 4.3.2.8 and RFC 4443 2.4(f) ask for a rate limit. As Linux's
//   net.ipv4.icmp_msgs_per_sec and icmp_msgs_burst, one token bucket per stack:
//   `perSecond` tokens a second, at most `burst` saved up.

import type { Counters } from '../counters.js'
import type { Clock } from '../time/clock.js'
import { isIcmpError } from './icmp-errors.js'
import { buildIcmpPacket } from '../wire/icmp.js'
import { IPPROTO_ICMP, type IPv4Header } from '../wire/ipv4.js'
import { buildIcmpv6Error, isIcmpv6Error } from '../wire/icmpv6.js'
import { IPPROTO_ICMPV6, type IPv6Header, type IPv6Address } from '../wire/ipv6.js'

/**
 * What the UDP layer did with a datagram: a socket or flow took it, nobody listens there
 * (the IP layer then owes the sender a port unreachable, sent from here), or it was dropped (counted).
 */
export type UdpVerdict = 'delivered' | 'port-unreachable' | 'dropped'

/** Destination unreachable code 3: port unreachable (RFC 792). */
export const ICMP_CODE_PORT_UNREACHABLE = 3

/**
 * How much of the offending datagram an error quotes: RFC 792 asks for its header and
 * 8 bytes, RFC 1122 3.2.2 for more; as Linux, all that keeps the error within 576 bytes
 * (RFC 1812 4.3.2.3), 576 less the error's own IP (20) and ICMP (8) headers.
 */
export const ICMP_QUOTE_MAX = 576 - 20 - 8

/** Linux's defaults: icmp_msgs_per_sec = 1000, icmp_msgs_burst = 50. */
export const DEFAULT_ICMP_RATE = { perSecond: 1000, burst: 50 }

export interface IcmpRate {
  /** Errors a second, on average; 0 sends none, Infinity never limits. */
  perSecond: number
  /** Most sent in one burst (the bucket's size). */
  burst: number
}

export class IcmpErrorSender {
  private tokens: number
  private last: number

  constructor(
    private readonly clock: Clock,
    private readonly counters: Counters,
    private readonly output: (packet: Uint8Array) => void,
    private readonly rate: IcmpRate = DEFAULT_ICMP_RATE,
  ) {
    this.tokens = rate.burst
    this.last = clock.now()
  }

  /**
   * Send an error of `type` and `code` about `datagram` (its header and bytes as
   * received), from `from`: the address it was sent to, so that in promiscuous mode the
   * error comes from the host the sender meant. False when a rule or the limit held it back.
   */
  send(header: IPv4Header, datagram: Uint8Array, type: number, code: number, from: number): boolean {
    if (!mayAnswer(header, datagram) || !this.allowed()) return false
    const body = datagram.subarray(0, Math.min(header.totalLength, ICMP_QUOTE_MAX))
    this.output(buildIcmpPacket({ src: from, dst: header.src, type, code, rest: 0, body }))
    return true
  }

  /**
   * The same for IPv6 (RFC 4443 2.4): an error of `type` and `code` with the 32-bit field
   * `rest` (a pointer, an MTU) about `packet`, quoting as much as fits 1280 bytes.
   */
  sendV6(header: IPv6Header, packet: Uint8Array, type: number, code: number, rest: number, from: IPv6Address): boolean {
    if (!mayAnswerV6(header, packet) || !this.allowed()) return false
    this.output(buildIcmpv6Error(packet, type, code, rest, from, header.src))
    return true
  }

  /** The rate limit, counted: may one more error go now? */
  private allowed(): boolean {
    if (!this.take()) {
      this.counters.icmpErrorsLimited++
      return false
    }
    this.counters.icmpErrorsSent++
    return true
  }

  /** One token from the bucket, refilled for the time since the last call. */
  private take(): boolean {
    const now = this.clock.now()
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.last) * this.rate.perSecond) / 1000)
    this.last = now
    if (!(this.tokens >= 1)) return false
    this.tokens--
    return true
  }
}

/** RFC 1122 3.2.2: an error about this datagram would help nobody, or answer an error with an error. */
function mayAnswer(header: IPv4Header, datagram: Uint8Array): boolean {
  if (!isOneHost(header.src) || header.dst >>> 28 >= 0xe) return false // multicast, class E, broadcast
  return !(header.protocol === IPPROTO_ICMP && isIcmpError(datagram[header.headerLength] ?? 0))
}

/** A source address that names one host: not 0.0.0.0/8, 127.0.0.0/8, multicast, class E or broadcast. */
function isOneHost(a: number): boolean {
  const first = a >>> 24
  return first !== 0 && first !== 127 && first < 224
}

/**
 * RFC 4443 2.4(e): never about an ICMPv6 error, a packet to a multicast address, or one
 * from an address that is not one host (unspecified ::, multicast ff00::/8).
 */
function mayAnswerV6(header: IPv6Header, packet: Uint8Array): boolean {
  if (header.dst[0] === 0xff || header.src[0] === 0xff || header.src.every(b => b === 0)) return false
  const upper = 40 + header.extensionLength
  return !(header.protocol === IPPROTO_ICMPV6 && isIcmpv6Error(packet[upper] ?? 0))
}
