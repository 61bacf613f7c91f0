// ICMPv6 message encode/decode (RFC 4443). As for ICMP over IPv4, the fixed 8 bytes
// are decoded (type, code, checksum, a 32-bit field whose meaning depends on the type)
// and the rest is the body. Unlike ICMPv4 the checksum covers the IPv6 pseudo header.

import { checksum, onesComplementSum } from './checksum.js'
import { drop, type Parsed } from './drop.js'
import { readU32, writeU32 } from './ipv4.js'
import {
  IPPROTO_ICMPV6, IPV6_HEADER_LENGTH, IPV6_MIN_MTU, NEXT_DESTINATION_OPTIONS, NEXT_FRAGMENT, NEXT_HOP_BY_HOP, NEXT_ROUTING,
  pseudoHeaderSumV6, writeIPv6Header, type IPv6Address, type IPv6Packet,
} from './ipv6.js'

/** Error messages (RFC 4443 3): types 0-127. */
export const ICMPV6_DEST_UNREACHABLE = 1
export const ICMPV6_PACKET_TOO_BIG = 2
export const ICMPV6_TIME_EXCEEDED = 3
export const ICMPV6_PARAMETER_PROBLEM = 4
/** Informational messages (RFC 4443 4): types 128-255. */
export const ICMPV6_ECHO_REQUEST = 128
export const ICMPV6_ECHO_REPLY = 129

/** Destination unreachable codes (RFC 4443 3.1). */
export const ICMPV6_CODE_NO_ROUTE = 0
export const ICMPV6_CODE_ADMIN_PROHIBITED = 1
export const ICMPV6_CODE_ADDRESS_UNREACHABLE = 3
export const ICMPV6_CODE_PORT_UNREACHABLE = 4

/** Type, code, checksum and the 32-bit field. */
export const ICMPV6_HEADER_LENGTH = 8

/** Is this an error message (RFC 4443 2.1: the high bit of the type is clear)? */
export function isIcmpv6Error(type: number): boolean {
  return type < 128
}

export interface Icmpv6Message {
  type: number
  code: number
  /** The 32-bit field: identifier << 16 | sequence for echo, the MTU for Packet Too Big, a pointer for Parameter Problem. */
  rest: number
  /** Everything after the 8 bytes: a view into the input, no copy. */
  body: Uint8Array
}

/** Decode an ICMPv6 message (the payload of `ip`); the checksum includes the pseudo header (RFC 4443 2.3). */
export function parseIcmpv6(bytes: Uint8Array, src: IPv6Address, dst: IPv6Address): Parsed<Icmpv6Message> {
  if (bytes.length < ICMPV6_HEADER_LENGTH) return drop('icmpv6-truncated')
  const pseudo = pseudoHeaderSumV6(src, dst, IPPROTO_ICMPV6, bytes.length)
  if (onesComplementSum(bytes, 0, bytes.length, pseudo) !== 0xffff) return drop('icmpv6-checksum')
  return { ok: true, value: { type: bytes[0]!, code: bytes[1]!, rest: readU32(bytes, 4), body: bytes.subarray(ICMPV6_HEADER_LENGTH) } }
}

export interface Icmpv6PacketFields {
  src: IPv6Address
  dst: IPv6Address
  type: number
  code: number
  rest: number
  /** The data after the 8 bytes (copied). */
  body?: Uint8Array
  /** Hop limit; default 64. */
  hopLimit?: number
  trafficClass?: number
}

/** One allocation: an IPv6 header and an ICMPv6 message with its checksum filled. */
export function buildIcmpv6Packet(f: Icmpv6PacketFields): Uint8Array {
  const body = f.body ?? new Uint8Array(0)
  const length = ICMPV6_HEADER_LENGTH + body.length
  const buf = new Uint8Array(IPV6_HEADER_LENGTH + length)
  writeIPv6Header(buf, 0, {
    src: f.src, dst: f.dst, protocol: IPPROTO_ICMPV6, payloadLength: length, hopLimit: f.hopLimit, trafficClass: f.trafficClass,
  })
  const o = IPV6_HEADER_LENGTH
  buf[o] = f.type & 0xff
  buf[o + 1] = f.code & 0xff
  writeU32(buf, o + 4, f.rest)
  buf.set(body, o + ICMPV6_HEADER_LENGTH)
  const sum = checksum(buf, o, buf.length, pseudoHeaderSumV6(f.src, f.dst, IPPROTO_ICMPV6, length))
  buf[o + 2] = sum >>> 8
  buf[o + 3] = sum & 0xff
  return buf
}

/** The whole packet answering an echo request (RFC 4443 4.2): from `localAddress`, same identifier, sequence and data. */
export function buildEchoReplyV6(request: IPv6Packet, icmp: Icmpv6Message, localAddress: IPv6Address): Uint8Array {
  return buildIcmpv6Packet({
    src: localAddress, dst: request.header.src, type: ICMPV6_ECHO_REPLY, code: 0, rest: icmp.rest, body: icmp.body,
    trafficClass: request.header.trafficClass & 0xfc, // keep DSCP, not the ECN bits (RFC 3168 5)
  })
}

/**
 * An error message about `invoking` (RFC 4443 2.4 (c)): as much of the invoking packet
 * as fits without the error exceeding the minimum IPv6 MTU, 1280 bytes.
 */
export function buildIcmpv6Error(invoking: Uint8Array, type: number, code: number, rest: number, src: IPv6Address, dst: IPv6Address): Uint8Array {
  const room = IPV6_MIN_MTU - IPV6_HEADER_LENGTH - ICMPV6_HEADER_LENGTH
  return buildIcmpv6Packet({ src, dst, type, code, rest, body: invoking.subarray(0, Math.min(invoking.length, room)) })
}

/** What an ICMPv6 error quotes of the packet that caused it: enough to find the connection. */
export interface Icmpv6Quote {
  /** The upper-layer protocol of the quoted packet, after its extension headers. */
  protocol: number
  /** Its source: ours, if we sent it. */
  src: IPv6Address
  /** Its destination: the remote end. */
  dst: IPv6Address
  /** Its length as sent: 40 plus its payload length. */
  totalLength: number
  /** The first 8 bytes of its upper-layer message: for TCP, the ports and the sequence number. */
  srcPort: number
  dstPort: number
  seq: number
}

/**
 * Decode the packet quoted in the body of an ICMPv6 error: an IPv6 header, its extension
 * headers (walked, at most 8) and at least 8 bytes of its upper-layer message.
 */
export function parseIcmpv6Quote(body: Uint8Array): Parsed<Icmpv6Quote> {
  if (body.length < IPV6_HEADER_LENGTH + 8 || body[0]! >> 4 !== 6) return drop('icmpv6-quote')
  let next = body[6]!
  let at = IPV6_HEADER_LENGTH
  for (let count = 0; next === NEXT_HOP_BY_HOP || next === NEXT_ROUTING || next === NEXT_FRAGMENT || next === NEXT_DESTINATION_OPTIONS; count++) {
    if (count === 8 || at + 8 > body.length) return drop('icmpv6-quote')
    const length = next === NEXT_FRAGMENT ? 8 : (body[at + 1]! + 1) * 8
    next = body[at]!
    at += length
  }
  if (at + 8 > body.length) return drop('icmpv6-quote')
  return {
    ok: true,
    value: {
      protocol: next,
      src: new Uint8Array(body.subarray(8, 24)), // copies, also of a Buffer
      dst: new Uint8Array(body.subarray(24, 40)),
      totalLength: IPV6_HEADER_LENGTH + ((body[4]! << 8) | body[5]!),
      srcPort: (body[at]! << 8) | body[at + 1]!,
      dstPort: (body[at + 2]! << 8) | body[at + 3]!,
      seq: readU32(body, at + 4),
    },
  }
}
