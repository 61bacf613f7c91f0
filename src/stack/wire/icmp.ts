// ICMP message encode/decode (RFC 792). Only the fixed 8-byte header is decoded;
// the meaning of `rest` and `body` depends on the type.

import { checksum, onesComplementSum } from './checksum'
import { drop, type Parsed } from './drop'
import { IPPROTO_ICMP, IPV4_HEADER_LENGTH, readU32, writeIPv4Header, writeU32, type IPv4Packet } from './ipv4'

/** Echo reply (RFC 792). */
export const ICMP_ECHO_REPLY = 0
/** Destination unreachable (RFC 792). */
export const ICMP_DEST_UNREACHABLE = 3
/** Echo request (RFC 792). */
export const ICMP_ECHO_REQUEST = 8
/** Time exceeded (RFC 792). */
export const ICMP_TIME_EXCEEDED = 11

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
