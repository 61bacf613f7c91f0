// UDP header encode/decode (RFC 768). Pure: no I/O, no state.
//
//    0      7 8     15 16    23 24    31
//   +--------+--------+--------+--------+
//   |   source port   |  destination    |
//   |                 |     port        |
//   +--------+--------+--------+--------+
//   |     length      |    checksum     |
//   +--------+--------+--------+--------+
//   |          data octets ...
//
// The checksum covers the IPv4 pseudo header (source, destination, zero, protocol, UDP
// length), the header and the data. A transmitted checksum of zero means "none" (RFC 768);
// so a computed zero is sent as all ones, its other one's complement form. Over IPv6 the
// pseudo header is RFC 8200 8.1's and the checksum is mandatory: a zero one is dropped.

import { bytesV6, ipHeaderLength, pseudoHeaderSumOf, type Address } from './address.js'
import { onesComplementSum } from './checksum.js'
import { drop, type Parsed } from './drop.js'
import { IPV4_HEADER_LENGTH, IPV4_MAX_TOTAL_LENGTH, writeIPv4Header } from './ipv4.js'
import { writeIPv6Header } from './ipv6.js'

/** Protocol number of UDP (RFC 768). */
export const IPPROTO_UDP = 17
/** Length of the UDP header. */
export const UDP_HEADER_LENGTH = 8
/** Most data one UDP datagram can carry in IPv4: 65535 - 20 (IP) - 8 (UDP). */
export const UDP_MAX_PAYLOAD = IPV4_MAX_TOTAL_LENGTH - IPV4_HEADER_LENGTH - UDP_HEADER_LENGTH

export interface UdpDatagram {
  /** Source port; 0 when the sender expects no reply (RFC 768: optional). */
  srcPort: number
  dstPort: number
  /** The checksum field as received; 0: the sender computed none. */
  checksum: number
  /** The data: a view into the input (no copy), sized by the length field. */
  payload: Uint8Array
}

/**
 * Decode and validate a UDP datagram (the IPv4 payload). Checks, in order: the 8-byte
 * header is there, the length field is at least 8 and within the bytes received (bytes
 * beyond it are ignored, as Linux trims them), then the checksum unless it is zero or
 * `verifyChecksum` is false (the link vouched for it).
 */
export function parseUdp(bytes: Uint8Array, src: Address | Uint8Array, dst: Address | Uint8Array, verifyChecksum = true): Parsed<UdpDatagram> {
  if (bytes.length < UDP_HEADER_LENGTH) return drop('udp-truncated')
  const length = (bytes[4]! << 8) | bytes[5]!
  if (length < UDP_HEADER_LENGTH) return drop('udp-length')
  if (length > bytes.length) return drop('udp-truncated')
  const checksum = (bytes[6]! << 8) | bytes[7]!
  // RFC 8200 8.1: over IPv6 a zero checksum is not "none" but an error (no tunnel asks us otherwise, RFC 6935).
  if (checksum === 0 && typeof src !== 'number') return drop('udp-checksum')
  if (verifyChecksum && checksum !== 0 &&
      onesComplementSum(bytes, 0, length, pseudoHeaderSumOf(src, dst, IPPROTO_UDP, length)) !== 0xffff) {
    return drop('udp-checksum')
  }
  return {
    ok: true,
    value: {
      srcPort: (bytes[0]! << 8) | bytes[1]!,
      dstPort: (bytes[2]! << 8) | bytes[3]!,
      checksum,
      payload: bytes.subarray(UDP_HEADER_LENGTH, length),
    },
  }
}

/** What buildUdpPacket needs. */
export interface UdpPacketFields {
  /** IPv4 or IPv6 (address.ts), both of one family. */
  src: Address
  dst: Address
  srcPort: number
  dstPort: number
  /** The data (copied). */
  payload?: Uint8Array
  /** Send checksum 0 ("none", RFC 768) instead of computing one; default false. IPv4 only (RFC 8200 8.1). */
  noChecksum?: boolean
  /** IP time to live; default 64. */
  ttl?: number
  /** IP type of service; default 0. */
  tos?: number
}

/**
 * One allocation: an IPv4 header (DF set: we never fragment) or an IPv6 header, by the
 * family of f.src, and a UDP datagram with its checksum. Throws RangeError on a
 * programming error (more data than UDP_MAX_PAYLOAD).
 */
export function buildUdpPacket(f: UdpPacketFields): Uint8Array {
  const payload = f.payload ?? new Uint8Array(0)
  if (payload.length > UDP_MAX_PAYLOAD) throw new RangeError(`UDP payload of ${payload.length} bytes exceeds ${UDP_MAX_PAYLOAD}`)
  const length = UDP_HEADER_LENGTH + payload.length
  const o = ipHeaderLength(f.src)
  const buf = new Uint8Array(o + length)
  if (typeof f.src === 'string' && typeof f.dst === 'string') {
    writeIPv6Header(buf, 0, { src: bytesV6(f.src), dst: bytesV6(f.dst), protocol: IPPROTO_UDP, payloadLength: length, hopLimit: f.ttl, trafficClass: f.tos })
  } else if (typeof f.src === 'number' && typeof f.dst === 'number') {
    writeIPv4Header(buf, 0, { src: f.src, dst: f.dst, protocol: IPPROTO_UDP, payloadLength: length, ttl: f.ttl, tos: f.tos })
  } else {
    throw new RangeError('a UDP datagram between addresses of two families')
  }
  buf[o] = (f.srcPort >>> 8) & 0xff
  buf[o + 1] = f.srcPort & 0xff
  buf[o + 2] = (f.dstPort >>> 8) & 0xff
  buf[o + 3] = f.dstPort & 0xff
  buf[o + 4] = length >>> 8
  buf[o + 5] = length & 0xff
  buf.set(payload, o + UDP_HEADER_LENGTH)
  if (f.noChecksum !== true || o !== IPV4_HEADER_LENGTH) {
    const sum = ~onesComplementSum(buf, o, buf.length, pseudoHeaderSumOf(f.src, f.dst, IPPROTO_UDP, length)) & 0xffff
    const field = sum === 0 ? 0xffff : sum // RFC 768: zero is "no checksum"; send its twin
    buf[o + 6] = field >>> 8
    buf[o + 7] = field & 0xff
  }
  return buf
}
