// ICMP message encode/decode (RFC 792). Only the fixed 8-byte header is decoded;
// the meaning of `rest` and `body` depends on the type.

import { checksum, onesComplementSum } from './checksum.js'
import { drop, type Parsed } from './drop.js'
import { IPPROTO_ICMP, IPV4_HEADER_LENGTH, readU32, writeIPv4Header, writeU32, type IPv4Packet } from './ipv4.js'

/** Echo reply (RFC 792). */
export const ICMP_ECHO_REPLY = 0
/** Destination unreachable (RFC 792). */
export const ICMP_DEST_UNREACHABLE = 3
/** Source quench (RFC 792; deprecated by RFC 6633). */
export const ICMP_SOURCE_QUENCH = 4
/** Echo request (RFC 792). */
export const ICMP_ECHO_REQUEST = 8
/** Time exceeded (RFC 792). */
export const ICMP_TIME_EXCEEDED = 11
/** Parameter problem (RFC 792). */
export const ICMP_PARAMETER_PROBLEM = 12
/** Destination unreachable code 4: fragmentation needed and DF set; `rest` holds the next-hop MTU (RFC 1191 4). */
export const ICMP_CODE_FRAG_NEEDED = 4

/** Length of the ICMP header: type, code, checksum and the 4-byte type-specific word. */
export const ICMP_HEADER_LENGTH = 8

export interface IcmpMessage {
  /** Message type: ICMP_ECHO_REQUEST, ... */
  type: number
  /** Subtype within the type (e.g. 3 = port unreachable for type 3). */
  code: number
  /** The 4 bytes after the checksum as uint32: identifier << 16 | sequence for echo. */
  rest: number
  /** Everything after the 8-byte header: a view into the input, no copy. */
  body: Uint8Array
}

/** Decode an ICMP message (the IPv4 payload); the checksum covers the whole message (RFC 792). */
export function parseIcmp(bytes: Uint8Array): Parsed<IcmpMessage> {
  if (bytes.length < ICMP_HEADER_LENGTH) return drop('icmp-truncated')
  if (onesComplementSum(bytes, 0, bytes.length) !== 0xffff) return drop('icmp-checksum')
  return {
    ok: true,
    value: { type: bytes[0]!, code: bytes[1]!, rest: readU32(bytes, 4), body: bytes.subarray(ICMP_HEADER_LENGTH) },
  }
}

/** What buildIcmpPacket needs. */
export interface IcmpPacketFields {
  /** Source address, unsigned 32-bit. */
  src: number
  /** Destination address, unsigned 32-bit. */
  dst: number
  /** ICMP type. */
  type: number
  /** ICMP code. */
  code: number
  /** The type-specific 4 bytes after the checksum. */
  rest: number
  /** The data after the 8-byte header (copied). */
  body?: Uint8Array
  /** IP time to live; default 64. */
  ttl?: number
  /** IP identification; default 0. */
  id?: number
  /** IP type of service; default 0. */
  tos?: number
}

/** One allocation: an IPv4 header (DF set) and an ICMP message with both checksums filled. */
export function buildIcmpPacket(f: IcmpPacketFields): Uint8Array {
  const body = f.body ?? new Uint8Array(0)
  const icmpLength = ICMP_HEADER_LENGTH + body.length
  const buf = new Uint8Array(IPV4_HEADER_LENGTH + icmpLength)
  writeIPv4Header(buf, 0, {
    src: f.src, dst: f.dst, protocol: IPPROTO_ICMP, payloadLength: icmpLength, ttl: f.ttl, id: f.id, tos: f.tos,
  })
  const o = IPV4_HEADER_LENGTH
  buf[o] = f.type & 0xff
  buf[o + 1] = f.code & 0xff
  writeU32(buf, o + 4, f.rest)
  buf.set(body, o + ICMP_HEADER_LENGTH)
  const sum = checksum(buf, o, buf.length)
  buf[o + 2] = sum >>> 8
  buf[o + 3] = sum & 0xff
  return buf
}

/**
 * The whole IP packet answering an echo request (RFC 792 "Echo or Echo Reply"):
 * addresses swapped (from `localAddress`), type 0, same identifier, sequence and data.
 */
export function buildEchoReply(request: IPv4Packet, icmp: IcmpMessage, localAddress: number): Uint8Array {
  return buildIcmpPacket({
    src: localAddress,
    dst: request.header.src,
    type: ICMP_ECHO_REPLY,
    code: 0,
    rest: icmp.rest,
    body: icmp.body,
    tos: request.header.tos & 0xfc, // keep DSCP, not the ECN bits (RFC 3168 5)
  })
}

/**
 * What an ICMP error quotes of the datagram that caused it (RFC 792: its IP
 * header and at least the first 8 bytes of its payload, which for TCP are the
 * ports and the sequence number, RFC 9293 3.1).
 */
export interface IcmpQuote {
  /** Protocol of the quoted datagram (IPPROTO_TCP for our segments). */
  protocol: number
  /** Its source address: ours, if we sent it. */
  src: number
  /** Its destination address: the remote end. */
  dst: number
  /** Its IP total length (RFC 1191 5 estimates the path MTU from it when the router gives none). */
  totalLength: number
  /** The first 8 bytes of its payload: for TCP, source port, destination port, sequence number. */
  srcPort: number
  dstPort: number
  seq: number
}

/** Decode the datagram quoted in the body of an ICMP error (destination unreachable, time exceeded, ...). */
export function parseIcmpQuote(body: Uint8Array): Parsed<IcmpQuote> {
  if (body.length < IPV4_HEADER_LENGTH + 8 || body[0]! >> 4 !== 4) return drop('icmp-quote')
  const headerLength = (body[0]! & 0x0f) * 4
  if (headerLength < IPV4_HEADER_LENGTH || body.length < headerLength + 8) return drop('icmp-quote')
  const t = headerLength
  return {
    ok: true,
    value: {
      protocol: body[9]!,
      src: readU32(body, 12),
      dst: readU32(body, 16),
      totalLength: (body[2]! << 8) | body[3]!,
      srcPort: (body[t]! << 8) | body[t + 1]!,
      dstPort: (body[t + 2]! << 8) | body[t + 3]!,
      seq: readU32(body, t + 4),
    },
  }
}
