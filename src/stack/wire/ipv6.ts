// IPv6 header encode/decode (RFC 8200 3 and 4). Pure: no I/O, no state.
//
// An IPv6 packet is a fixed 40-byte header, then a chain of extension headers, each
// naming the next, then the upper-layer message (TCP, UDP, ICMPv6). The parser walks
// the chain in the order RFC 8200 4.1 asks, applies what each header says, and hands
// back the upper-layer protocol and its bytes. Fragments are not reassembled: like
// the IPv4 side, a fragment is dropped and counted (`ipv6-fragment`); an atomic
// fragment (offset 0, M clear, RFC 6946) is a whole packet and goes on.

import { onesComplementSum } from './checksum.js'
import { drop, type Parsed } from './drop.js'

/** Protocol number of ICMPv6 (RFC 4443). */
export const IPPROTO_ICMPV6 = 58
/** Length of the fixed IPv6 header (RFC 8200 3). */
export const IPV6_HEADER_LENGTH = 40
/** Largest payload without a jumbogram: the payload length field is 16 bits. */
export const IPV6_MAX_PAYLOAD_LENGTH = 0xffff
/** Every IPv6 link carries packets of 1280 bytes (RFC 8200 5). */
export const IPV6_MIN_MTU = 1280
/** Hop limit we send with unless told otherwise (Linux's default). */
export const DEFAULT_HOP_LIMIT = 64

/** Extension headers (RFC 8200 4). */
export const NEXT_HOP_BY_HOP = 0
export const NEXT_ROUTING = 43
export const NEXT_FRAGMENT = 44
export const NEXT_DESTINATION_OPTIONS = 60
/** "No next header" (RFC 8200 4.7): nothing follows; the packet carries no upper-layer message. */
export const NEXT_NONE = 59

/** More extension headers than this and the packet is dropped: the walk stays bounded. */
const MAX_EXTENSION_HEADERS = 8

/** A 16-byte IPv6 address. */
export type IPv6Address = Uint8Array

export interface IPv6Header {
  /** Traffic class (DSCP and ECN, RFC 2474/3168), as received. */
  trafficClass: number
  /** Flow label (RFC 6437), 20 bits. */
  flowLabel: number
  /** Payload length: bytes after the fixed header, extension headers included. */
  payloadLength: number
  /** Hop limit. */
  hopLimit: number
  /** Source address: a copy, 16 bytes. */
  src: IPv6Address
  /** Destination address: a copy, 16 bytes. */
  dst: IPv6Address
  /** The upper-layer protocol at the end of the chain: IPPROTO_TCP, IPPROTO_ICMPV6, NEXT_NONE, ... */
  protocol: number
  /** Bytes of extension headers between the fixed header and the upper-layer message. */
  extensionLength: number
  /** Where the byte naming `protocol` is: 6, or the first byte of the last extension header (a Parameter Problem's pointer, RFC 4443 3.4). */
  protocolOffset: number
}

export interface IPv6Packet {
  /** The decoded header, with the chain already walked. */
  header: IPv6Header
  /** The upper-layer message: a view into the input (no copy), sized by the payload length. */
  payload: Uint8Array
}

/**
 * Decode and validate an IPv6 packet (RFC 8200). Checks, in order: version, lengths
 * (the payload length against the bytes received; bytes beyond it are ignored), then
 * each extension header: hop-by-hop only first (4.1), options well formed and unknown
 * ones handled by their action bits (4.2), routing headers with segments left refused
 * (we are never an intermediate node; type 0 is deprecated by RFC 5095), fragments
 * dropped. There is no header checksum in IPv6: the upper layers carry one each.
 */
export function parseIPv6(packet: Uint8Array): Parsed<IPv6Packet> {
  const n = packet.length
  if (n < 1) return drop('ipv6-truncated')
  if (packet[0]! >> 4 !== 6) return drop('ipv6-version')
  if (n < IPV6_HEADER_LENGTH) return drop('ipv6-truncated')
  const payloadLength = (packet[4]! << 8) | packet[5]!
  const end = IPV6_HEADER_LENGTH + payloadLength
  // A zero length with a hop-by-hop header would be a jumbogram (RFC 2675): not on a TUN.
  if (end > n) return drop('ipv6-truncated')

  let next = packet[6]!
  let nextOffset = 6
  let at = IPV6_HEADER_LENGTH
  for (let count = 0; ; count++) {
    if (next !== NEXT_HOP_BY_HOP && next !== NEXT_ROUTING && next !== NEXT_FRAGMENT && next !== NEXT_DESTINATION_OPTIONS) break
    if (count === MAX_EXTENSION_HEADERS) return drop('ipv6-extension')
    // RFC 8200 4.1: the hop-by-hop header only immediately after the IPv6 header.
    if (next === NEXT_HOP_BY_HOP && count > 0) return drop('ipv6-extension')
    if (at + 8 > end) return drop('ipv6-extension')
    const following = packet[at]!
    nextOffset = at
    if (next === NEXT_FRAGMENT) {
      // RFC 8200 4.5: 8 bytes: next header, reserved, offset (13 bits) | res | M, identification.
      const offsetAndM = (packet[at + 2]! << 8) | packet[at + 3]!
      if ((offsetAndM & 0xfff8) !== 0 || (offsetAndM & 1) !== 0) return drop('ipv6-fragment')
      at += 8 // an atomic fragment (RFC 6946 4): process it as the whole packet it is
    } else {
      const length = (packet[at + 1]! + 1) * 8 // RFC 8200 4.3-4.6: in 8-octet units beyond the first 8
      if (at + length > end) return drop('ipv6-extension')
      if (next === NEXT_ROUTING) {
        // RFC 8200 4.4: a routing header with segments left asks us to forward; we are the
        // destination, never a router, so such a packet is not for us (ICMPv6 parameter problem there).
        if (packet[at + 3]! !== 0) return drop('ipv6-routing')
      } else if (!optionsAcceptable(packet, at + 2, at + length)) {
        return drop('ipv6-option')
      }
      at += length
    }
    next = following
  }
  return {
    ok: true,
    value: {
      header: {
        trafficClass: ((packet[0]! & 0x0f) << 4) | (packet[1]! >> 4),
        flowLabel: ((packet[1]! & 0x0f) << 16) | (packet[2]! << 8) | packet[3]!,
        payloadLength,
        hopLimit: packet[7]!,
        src: new Uint8Array(packet.subarray(8, 24)), // a copy, also of a Buffer (whose slice() is a view)
        dst: new Uint8Array(packet.subarray(24, 40)),
        protocol: next,
        extensionLength: at - IPV6_HEADER_LENGTH,
        protocolOffset: nextOffset,
      },
      payload: next === NEXT_NONE ? packet.subarray(at, at) : packet.subarray(at, end),
    },
  }
}

/**
 * The options of a hop-by-hop or destination options header (RFC 8200 4.2): type,
 * length, data. Pad1 (0) is one byte, PadN (1) and every other option have a length.
 * An option we do not know is handled by the two high bits of its type: 00 skip it,
 * anything else discard the packet (01 silently, 10 and 11 with an ICMPv6 parameter
 * problem that a host may leave out). We know no option beyond padding.
 */
function optionsAcceptable(p: Uint8Array, start: number, end: number): boolean {
  let i = start
  while (i < end) {
    const type = p[i]!
    if (type === 0) { i++; continue }
    if (i + 1 >= end) return false
    const length = p[i + 1]!
    if (i + 2 + length > end) return false
    if (type !== 1 && type >> 6 !== 0) return false
    i += 2 + length
  }
  return true
}

/** What writeIPv6Header needs; the rest has defaults. */
export interface IPv6HeaderFields {
  src: IPv6Address
  dst: IPv6Address
  /** The next header: IPPROTO_TCP, IPPROTO_ICMPV6, ... (we send no extension headers). */
  protocol: number
  /** Bytes following the 40-byte header. */
  payloadLength: number
  /** Hop limit; default 64. */
  hopLimit?: number
  /** Traffic class; default 0. */
  trafficClass?: number
  /** Flow label (RFC 6437); default 0. */
  flowLabel?: number
}

/**
 * Write a 40-byte IPv6 header at buf[offset]; returns 40. There is no checksum to fill.
 * Throws RangeError on a programming error (payload over 65535 bytes, buffer too small,
 * an address not 16 bytes).
 */
export function writeIPv6Header(buf: Uint8Array, offset: number, h: IPv6HeaderFields): number {
  if (!Number.isInteger(h.payloadLength) || h.payloadLength < 0 || h.payloadLength > IPV6_MAX_PAYLOAD_LENGTH) {
    throw new RangeError(`IPv6 payload length ${h.payloadLength} out of range`)
  }
  if (offset < 0 || offset + IPV6_HEADER_LENGTH > buf.length) {
    throw new RangeError(`IPv6 header at ${offset} does not fit a ${buf.length}-byte buffer`)
  }
  if (h.src.length !== 16 || h.dst.length !== 16) throw new RangeError('an IPv6 address is 16 bytes')
  const tc = (h.trafficClass ?? 0) & 0xff
  const flow = (h.flowLabel ?? 0) & 0xfffff
  buf[offset] = 0x60 | (tc >> 4)
  buf[offset + 1] = ((tc & 0x0f) << 4) | (flow >> 16)
  buf[offset + 2] = (flow >> 8) & 0xff
  buf[offset + 3] = flow & 0xff
  buf[offset + 4] = h.payloadLength >>> 8
  buf[offset + 5] = h.payloadLength & 0xff
  buf[offset + 6] = h.protocol & 0xff
  buf[offset + 7] = (h.hopLimit ?? DEFAULT_HOP_LIMIT) & 0xff
  buf.set(h.src, offset + 8)
  buf.set(h.dst, offset + 24)
  return IPV6_HEADER_LENGTH
}

/**
 * Folded sum of the IPv6 pseudo header (RFC 8200 8.1) that TCP, UDP and ICMPv6 put in
 * their checksums: source and destination address, the upper-layer length as 32 bits,
 * three zero bytes and the next header.
 */
export function pseudoHeaderSumV6(src: IPv6Address, dst: IPv6Address, protocol: number, length: number): number {
  // The length's two 16-bit words and the word holding the next header, added as numbers:
  // no 8-byte array per packet (onesComplementSum folds whatever it is given to start from).
  const lengthAndProtocol = (length >>> 16) + (length & 0xffff) + (protocol & 0xff)
  return onesComplementSum(dst, 0, 16, onesComplementSum(src, 0, 16, lengthAndProtocol))
}

/**
 * Parse an IPv6 address in text (RFC 4291 2.2): eight groups of up to four hex digits,
 * one `::` for a run of zero groups, and an IPv4 dotted quad as the last 32 bits.
 * No zone index ("%eth0") and no brackets. Returns null for anything else.
 */
export function parseAddressV6(s: string): IPv6Address | null {
  const halves = s.split('::')
  if (halves.length > 2) return null
  const groups = (part: string): number[] | null => {
    if (part === '') return []
    const out: number[] = []
    const pieces = part.split(':')
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!
      if (i === pieces.length - 1 && piece.includes('.')) {
        const quad = piece.split('.')
        if (quad.length !== 4 || !quad.every(q => /^(0|[1-9][0-9]{0,2})$/.test(q) && Number(q) < 256)) return null
        out.push(Number(quad[0]) * 256 + Number(quad[1]), Number(quad[2]) * 256 + Number(quad[3]))
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null
        out.push(parseInt(piece, 16))
      }
    }
    return out
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (head === null || tail === null) return null
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail]
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >> 8
    out[2 * i + 1] = all[i]! & 0xff
  }
  return out
}

/**
 * Format an IPv6 address as RFC 5952 4 recommends: lower-case hex without leading zeros,
 * the longest run of two or more zero groups (the first of equals) as `::`, and an
 * IPv4-mapped address (::ffff:a.b.c.d, RFC 4291 2.5.5.2) with its dotted quad (RFC 5952 5).
 */
export function formatAddressV6(a: IPv6Address): string {
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push((a[2 * i]! << 8) | a[2 * i + 1]!)
  if (g.slice(0, 5).every(x => x === 0) && g[5] === 0xffff) {
    return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`
  }
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLength) { bestStart = i; bestLength = j - i }
    i = j
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map(x => x.toString(16)).join(':')
  if (bestStart < 0) return hex(0, 8)
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`
}
