// IPv4 header encode/decode (RFC 791 3.1). Pure: no I/O, no state.

import { checksum, onesComplementSum } from './checksum.js'
import { drop, type Parsed } from './drop.js'

/** Protocol number of ICMP (RFC 792). */
export const IPPROTO_ICMP = 1
/** Protocol number of TCP (RFC 9293). */
export const IPPROTO_TCP = 6

/** Length of an IPv4 header without options. */
export const IPV4_HEADER_LENGTH = 20
/** Largest IPv4 datagram: the total length field is 16 bits. */
export const IPV4_MAX_TOTAL_LENGTH = 0xffff
/** TTL we send with unless told otherwise (Linux's default, RFC 1700 suggests 64). */
export const DEFAULT_TTL = 64

export interface IPv4Header {
  /** Header length in bytes (IHL * 4), 20..60, options included. */
  headerLength: number
  /** Type of service byte (DSCP and ECN, RFC 2474/3168), as received. */
  tos: number
  /** Total length of the datagram in bytes, header included. */
  totalLength: number
  /** Identification, used for fragment reassembly. */
  id: number
  /** DF: do not fragment. */
  dontFragment: boolean
  /** MF: more fragments follow (always false in a parsed packet: fragments are dropped). */
  moreFragments: boolean
  /** Fragment offset in 8-byte units, as on the wire (always 0 in a parsed packet). */
  fragmentOffset: number
  /** Time to live. */
  ttl: number
  /** Payload protocol: IPPROTO_TCP, IPPROTO_ICMP, ... */
  protocol: number
  /** Source address, unsigned 32-bit. */
  src: number
  /** Destination address, unsigned 32-bit. */
  dst: number
}

export interface IPv4Packet {
  /** The decoded header. */
  header: IPv4Header
  /** The payload: a view into the input (no copy), sized by totalLength, padding excluded. */
  payload: Uint8Array
}

/**
 * Decode and validate an IPv4 datagram (RFC 791 3.1). Checks, in order: version,
 * lengths (IHL, total length against the bytes received; trailing bytes beyond the
 * total length such as link padding are ignored), option structure, header checksum
 * (RFC 1071), and refuses fragments (we do not reassemble). Well-formed options are skipped.
 */
export function parseIPv4(packet: Uint8Array): Parsed<IPv4Packet> {
  const n = packet.length
  if (n < 1) return drop('ip-truncated')
  const b0 = packet[0]!
  if (b0 >> 4 !== 4) return drop('ip-version')
  if (n < IPV4_HEADER_LENGTH) return drop('ip-truncated')
  const headerLength = (b0 & 0x0f) * 4
  if (headerLength < IPV4_HEADER_LENGTH) return drop('ip-header-length')
  if (headerLength > n) return drop('ip-truncated')
  const totalLength = (packet[2]! << 8) | packet[3]!
  if (totalLength < headerLength) return drop('ip-total-length')
  if (totalLength > n) return drop('ip-truncated')
  if (headerLength > IPV4_HEADER_LENGTH && !optionsWellFormed(packet, IPV4_HEADER_LENGTH, headerLength)) {
    return drop('ip-options')
  }
  if (onesComplementSum(packet, 0, headerLength) !== 0xffff) return drop('ip-checksum')
  const flagsFrag = (packet[6]! << 8) | packet[7]!
  const moreFragments = (flagsFrag & 0x2000) !== 0
  const fragmentOffset = flagsFrag & 0x1fff
  if (moreFragments || fragmentOffset !== 0) return drop('ip-fragment')
  return {
    ok: true,
    value: {
      header: {
        headerLength,
        tos: packet[1]!,
        totalLength,
        id: (packet[4]! << 8) | packet[5]!,
        dontFragment: (flagsFrag & 0x4000) !== 0,
        moreFragments,
        fragmentOffset,
        ttl: packet[8]!,
        protocol: packet[9]!,
        src: readU32(packet, 12),
        dst: readU32(packet, 16),
      },
      payload: packet.subarray(headerLength, totalLength),
    },
  }
}

/**
 * RFC 791 3.1 option format: kind 0 (end of list) and 1 (no-op) are one byte; every
 * other kind has a length byte counting kind and length, so at least 2, within the header.
 */
function optionsWellFormed(p: Uint8Array, start: number, end: number): boolean {
  let i = start
  while (i < end) {
    const kind = p[i]!
    if (kind === 0) return true
    if (kind === 1) { i++; continue }
    if (i + 1 >= end) return false
    const len = p[i + 1]!
    if (len < 2 || i + len > end) return false
    i += len
  }
  return true
}

/** What writeIPv4Header needs; the rest has defaults. */
export interface IPv4HeaderFields {
  /** Source address, unsigned 32-bit. */
  src: number
  /** Destination address, unsigned 32-bit. */
  dst: number
  /** IPPROTO_TCP, IPPROTO_ICMP, ... */
  protocol: number
  /** Bytes following the 20-byte header. */
  payloadLength: number
  /** Time to live; default 64. */
  ttl?: number
  /** Identification; default 0 (fine for atomic datagrams, RFC 6864 4.1). */
  id?: number
  /** DF flag; default true (we do path MTU discovery, not fragmentation). */
  dontFragment?: boolean
  /** Type of service byte; default 0. */
  tos?: number
}

/**
 * Write a 20-byte IPv4 header (no options) with its checksum at buf[offset]; returns 20.
 * Throws RangeError on a programming error (datagram over 65535 bytes, buffer too small).
 */
export function writeIPv4Header(buf: Uint8Array, offset: number, h: IPv4HeaderFields): number {
  const totalLength = IPV4_HEADER_LENGTH + h.payloadLength
  if (!Number.isInteger(h.payloadLength) || h.payloadLength < 0 || totalLength > IPV4_MAX_TOTAL_LENGTH) {
    throw new RangeError(`IPv4 payload length ${h.payloadLength} out of range`)
  }
  if (offset < 0 || offset + IPV4_HEADER_LENGTH > buf.length) {
    throw new RangeError(`IPv4 header at ${offset} does not fit a ${buf.length}-byte buffer`)
  }
  const id = h.id ?? 0
  buf[offset] = 0x45 // version 4, IHL 5
  buf[offset + 1] = (h.tos ?? 0) & 0xff
  buf[offset + 2] = totalLength >>> 8
  buf[offset + 3] = totalLength & 0xff
  buf[offset + 4] = (id >>> 8) & 0xff
  buf[offset + 5] = id & 0xff
  buf[offset + 6] = (h.dontFragment ?? true) ? 0x40 : 0
  buf[offset + 7] = 0
  buf[offset + 8] = (h.ttl ?? DEFAULT_TTL) & 0xff
  buf[offset + 9] = h.protocol & 0xff
  buf[offset + 10] = 0
  buf[offset + 11] = 0
  writeU32(buf, offset + 12, h.src)
  writeU32(buf, offset + 16, h.dst)
  const sum = checksum(buf, offset, offset + IPV4_HEADER_LENGTH)
  buf[offset + 10] = sum >>> 8
  buf[offset + 11] = sum & 0xff
  return IPV4_HEADER_LENGTH
}

/** Parse a dotted quad ('10.77.0.2') strictly: four decimal octets, no leading zeros. */
export function parseAddress(s: string): number | null {
  const parts = s.split('.')
  if (parts.length !== 4) return null
  let a = 0
  for (const p of parts) {
    // A leading zero would mean octal to inet_aton; refuse it rather than guess.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null
    const v = Number(p)
    if (v > 255) return null
    a = a * 256 + v
  }
  return a
}

/** Format an unsigned 32-bit address as a dotted quad. */
export function formatAddress(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`
}

/** Big-endian unsigned 32-bit read. */
export function readU32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0
}

/** Big-endian 32-bit write of the low 32 bits of v. */
export function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 24) & 0xff
  b[i + 1] = (v >>> 16) & 0xff
  b[i + 2] = (v >>> 8) & 0xff
  b[i + 3] = v & 0xff
}
