// TCP header and options encode/decode (RFC 9293 3.1; options from RFC 9293 3.2,
// RFC 7323 window scale and timestamps, RFC 2018 SACK, RFC 7413 Fast Open).
// Pure: no I/O, no state.

import { ipHeaderLength, pseudoHeaderSumOf, bytesV6, type Address } from './address.js'
import { onesComplementSum } from './checksum.js'
import { drop, type Parsed } from './drop.js'
import { IPPROTO_TCP, readU32, writeIPv4Header, writeU32 } from './ipv4.js'
import { IPV6_HEADER_LENGTH, writeIPv6Header } from './ipv6.js'

// Control bits, RFC 9293 3.1 (CWR and ECE from RFC 3168).
/** No more data from sender. */
export const FIN = 0x01
/** Synchronize sequence numbers. */
export const SYN = 0x02
/** Reset the connection. */
export const RST = 0x04
/** Push function. */
export const PSH = 0x08
/** Acknowledgment field is significant. */
export const ACK = 0x10
/** Urgent pointer field is significant. */
export const URG = 0x20
/** ECN-Echo (RFC 3168). */
export const ECE = 0x40
/** Congestion Window Reduced (RFC 3168). */
export const CWR = 0x80

/** Length of the TCP header without options. */
export const TCP_HEADER_LENGTH = 20
/** Most option bytes a header can carry: data offset 15 words minus the fixed 5. */
export const TCP_MAX_OPTIONS_LENGTH = 40
/** Largest window scale shift; a larger received value MUST be treated as 14 (RFC 7323 2.3). */
export const MAX_WINDOW_SCALE = 14

// Option kinds (RFC 9293 3.2, RFC 7323, RFC 2018).
/** End of option list. */
export const OPT_EOL = 0
/** No-operation, used for alignment. */
export const OPT_NOP = 1
/** Maximum segment size, length 4. */
export const OPT_MSS = 2
/** Window scale, length 3 (RFC 7323 2.2). */
export const OPT_WINDOW_SCALE = 3
/** SACK permitted, length 2 (RFC 2018 2). */
export const OPT_SACK_PERMITTED = 4
/** SACK blocks, length 2 + 8n for n = 1..4 (RFC 2018 3). */
export const OPT_SACK = 5
/** Timestamps, length 10 (RFC 7323 3.2). */
export const OPT_TIMESTAMP = 8
/** TCP Fast Open cookie, length 2 + cookie (RFC 7413 4.1.1). */
export const OPT_FAST_OPEN = 34
/** Experimental option (RFC 6994): kind, length, a 16-bit ExID, then its data. */
export const OPT_EXPERIMENTAL = 254
/** The ExID of Fast Open in an experimental option, from before kind 34 was assigned (RFC 7413 4.1.1). */
export const FAST_OPEN_EXID = 0xf989
/** A Fast Open cookie is 4 to 16 bytes, an even number (RFC 7413 4.1.1); none is a request. */
export const FAST_OPEN_COOKIE_MIN = 4
export const FAST_OPEN_COOKIE_MAX = 16

export interface TcpOptions {
  /** Maximum segment size the sender can receive (only meaningful on a SYN). */
  mss?: number
  /** Window scale shift count, as received (may exceed MAX_WINDOW_SCALE; clamp when using it). */
  windowScale?: number
  /** The sender can receive SACK blocks (only on a SYN). */
  sackPermitted?: boolean
  /** Received blocks beyond the cumulative ACK: [left, right) as unsigned 32-bit sequence numbers. */
  sackBlocks?: Array<{ left: number; right: number }>
  /** TSval of the sender and TSecr, the timestamp it echoes; unsigned 32-bit. */
  timestamp?: { value: number; echo: number }
  /**
   * Fast Open (RFC 7413 4.1.1), only on a SYN or SYN,ACK: an empty cookie asks for one, else
   * 4..16 bytes. `experimental`: sent as kind 254 with ExID 0xF989 (RFC 6994), not kind 34.
   */
  fastOpen?: FastOpenOption
}

export interface FastOpenOption {
  /** The cookie bytes; length 0 is a cookie request. */
  cookie: Uint8Array
  /** Carried in the experimental option (254, 0xF989) rather than kind 34. */
  experimental: boolean
}

/** True for the cookie lengths RFC 7413 4.1.1 allows: 0 (a request) or an even 4..16. */
export function isFastOpenCookieLength(n: number): boolean {
  return n === 0 || (n >= FAST_OPEN_COOKIE_MIN && n <= FAST_OPEN_COOKIE_MAX && n % 2 === 0)
}

export interface TcpSegment {
  /** Source port. */
  srcPort: number
  /** Destination port. */
  dstPort: number
  /** Sequence number of the first octet (of the SYN if set), unsigned 32-bit. */
  seq: number
  /** Next sequence number the sender expects, if ACK is set; unsigned 32-bit. */
  ack: number
  /** Header length in bytes (data offset * 4), 20..60. */
  headerLength: number
  /** Control bits, FIN..CWR (the 8 bits of byte 13). */
  flags: number
  /** Window field as sent, not yet scaled. */
  window: number
  /** Urgent pointer, an offset from seq, if URG is set. */
  urgentPointer: number
  /** Decoded options; absent fields were not present. */
  options: TcpOptions
  /** Segment data: a view into the input, no copy. */
  payload: Uint8Array
  /** The ECN field of the IP header that carried it (RFC 3168 5: 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE), set by the IP layer. */
  ecn?: number
}

/**
 * Decode a TCP segment (the IP payload). src and dst are the IP addresses, for the
 * pseudo header checksum (RFC 9293 3.1; RFC 8200 8.1 over IPv6, where they may be given
 * as their 16 bytes). Checks, in order: length, data offset, checksum (unless
 * verifyChecksum is false), options.
 */
export function parseTcp(bytes: Uint8Array, src: Address | Uint8Array, dst: Address | Uint8Array, verifyChecksum = true): Parsed<TcpSegment> {
  const n = bytes.length
  if (n < TCP_HEADER_LENGTH) return drop('tcp-truncated')
  const headerLength = (bytes[12]! >> 4) * 4
  if (headerLength < TCP_HEADER_LENGTH || headerLength > n) return drop('tcp-data-offset')
  if (verifyChecksum && onesComplementSum(bytes, 0, n, pseudoHeaderSumOf(src, dst, IPPROTO_TCP, n)) !== 0xffff) {
    return drop('tcp-checksum')
  }
  const options: TcpOptions = {}
  if (headerLength > TCP_HEADER_LENGTH && !parseOptions(bytes, TCP_HEADER_LENGTH, headerLength, options)) {
    return drop('tcp-options')
  }
  return {
    ok: true,
    value: {
      srcPort: (bytes[0]! << 8) | bytes[1]!,
      dstPort: (bytes[2]! << 8) | bytes[3]!,
      seq: readU32(bytes, 4),
      ack: readU32(bytes, 8),
      headerLength,
      flags: bytes[13]!,
      window: (bytes[14]! << 8) | bytes[15]!,
      urgentPointer: (bytes[18]! << 8) | bytes[19]!,
      options,
      payload: bytes.subarray(headerLength),
    },
  }
}

/**
 * Fill `out` from the option list b[start, end). False if malformed: a length byte
 * missing, below 2 or running past the header, or a known kind with the wrong length.
 * EOL ends the list, NOP is skipped, unknown kinds are skipped by length (RFC 9293 3.2).
 */
function parseOptions(b: Uint8Array, start: number, end: number, out: TcpOptions): boolean {
  // Fast path: NOP, NOP, timestamps and nothing else, the layout RFC 7323 appendix A
  // recommends so that a receiver can recognise it at once (most segments of a connection).
  if (end - start === 12 && b[start] === OPT_NOP && b[start + 1] === OPT_NOP && b[start + 2] === OPT_TIMESTAMP && b[start + 3] === 10) {
    out.timestamp = { value: readU32(b, start + 4), echo: readU32(b, start + 8) }
    return true
  }
  let i = start
  while (i < end) {
    const kind = b[i]!
    if (kind === OPT_EOL) return true
    if (kind === OPT_NOP) { i++; continue }
    if (i + 1 >= end) return false
    const len = b[i + 1]!
    if (len < 2 || i + len > end) return false
    switch (kind) {
      case OPT_MSS:
        if (len !== 4) return false
        out.mss = (b[i + 2]! << 8) | b[i + 3]!
        break
      case OPT_WINDOW_SCALE:
        if (len !== 3) return false
        out.windowScale = b[i + 2]!
        break
      case OPT_SACK_PERMITTED:
        if (len !== 2) return false
        out.sackPermitted = true
        break
      case OPT_SACK: {
        if (len < 10 || len > 34 || (len - 2) % 8 !== 0) return false
        const blocks: Array<{ left: number; right: number }> = []
        for (let j = i + 2; j < i + len; j += 8) blocks.push({ left: readU32(b, j), right: readU32(b, j + 4) })
        out.sackBlocks = blocks
        break
      }
      case OPT_TIMESTAMP:
        if (len !== 10) return false
        out.timestamp = { value: readU32(b, i + 2), echo: readU32(b, i + 6) }
        break
      case OPT_FAST_OPEN:
        // A cookie of a length RFC 7413 does not allow is ignored, not fatal (as Linux's
        // tcp_parse_fastopen_option): the segment is still a good SYN.
        if (isFastOpenCookieLength(len - 2)) out.fastOpen = { cookie: new Uint8Array(b.subarray(i + 2, i + len)), experimental: false }
        break
      case OPT_EXPERIMENTAL:
        if (len >= 4 && ((b[i + 2]! << 8) | b[i + 3]!) === FAST_OPEN_EXID && isFastOpenCookieLength(len - 4)) {
          out.fastOpen = { cookie: new Uint8Array(b.subarray(i + 4, i + len)), experimental: true }
        }
        break // another experiment's ExID: skipped by its length
      default:
        break // unknown kind: skipped by its length
    }
    i += len
  }
  return true
}

/**
 * Bytes the options take when written by writeTcpOptions, a multiple of 4.
 * May exceed TCP_MAX_OPTIONS_LENGTH; the writers refuse that.
 */
export function tcpOptionsLength(options: TcpOptions): number {
  let n = 0
  if (options.mss !== undefined) n += 4
  if (options.timestamp !== undefined) n += 12 // SACK-permitted, if any, rides in the two NOPs' place
  else if (options.sackPermitted) n += 4
  if (options.windowScale !== undefined) n += 4
  if (options.sackBlocks !== undefined && options.sackBlocks.length > 0) n += 4 + 8 * options.sackBlocks.length
  if (options.fastOpen !== undefined) n += (fastOpenLength(options.fastOpen) + 3) & ~3
  return (n + 3) & ~3
}

/** The Fast Open option's own length byte: kind, length (and ExID) plus the cookie. */
function fastOpenLength(fo: FastOpenOption): number {
  return (fo.experimental ? 4 : 2) + fo.cookie.length
}

/**
 * Write options at b[offset] in Linux's order and alignment: MSS; SACK-permitted and
 * timestamps (or NOPs in their place); NOP + window scale; NOP NOP + SACK blocks;
 * Fast Open then NOP NOP if its length leaves 2 bytes over (tcp_options_write);
 * padded with EOL to a multiple of 4. Returns the bytes written (= tcpOptionsLength).
 */
export function writeTcpOptions(b: Uint8Array, offset: number, o: TcpOptions): number {
  const length = tcpOptionsLength(o)
  if (length > TCP_MAX_OPTIONS_LENGTH) throw new RangeError(`TCP options need ${length} bytes, at most 40 fit`)
  if (offset < 0 || offset + length > b.length) throw new RangeError('TCP options do not fit the buffer')
  let i = offset
  if (o.mss !== undefined) {
    b[i++] = OPT_MSS; b[i++] = 4; b[i++] = (o.mss >>> 8) & 0xff; b[i++] = o.mss & 0xff
  }
  if (o.timestamp !== undefined) {
    if (o.sackPermitted) { b[i++] = OPT_SACK_PERMITTED; b[i++] = 2 } else { b[i++] = OPT_NOP; b[i++] = OPT_NOP }
    b[i++] = OPT_TIMESTAMP; b[i++] = 10
    writeU32(b, i, o.timestamp.value); writeU32(b, i + 4, o.timestamp.echo); i += 8
  } else if (o.sackPermitted) {
    b[i++] = OPT_NOP; b[i++] = OPT_NOP; b[i++] = OPT_SACK_PERMITTED; b[i++] = 2
  }
  if (o.windowScale !== undefined) {
    b[i++] = OPT_NOP; b[i++] = OPT_WINDOW_SCALE; b[i++] = 3; b[i++] = o.windowScale & 0xff
  }
  if (o.sackBlocks !== undefined && o.sackBlocks.length > 0) {
    b[i++] = OPT_NOP; b[i++] = OPT_NOP; b[i++] = OPT_SACK; b[i++] = 2 + 8 * o.sackBlocks.length
    for (const blk of o.sackBlocks) { writeU32(b, i, blk.left); writeU32(b, i + 4, blk.right); i += 8 }
  }
  if (o.fastOpen !== undefined) {
    const len = fastOpenLength(o.fastOpen)
    if (o.fastOpen.experimental) {
      b[i++] = OPT_EXPERIMENTAL; b[i++] = len; b[i++] = FAST_OPEN_EXID >>> 8; b[i++] = FAST_OPEN_EXID & 0xff
    } else {
      b[i++] = OPT_FAST_OPEN; b[i++] = len
    }
    b.set(o.fastOpen.cookie, i); i += o.fastOpen.cookie.length
    if (len % 4 === 2) { b[i++] = OPT_NOP; b[i++] = OPT_NOP }
  }
  while (i < offset + length) b[i++] = OPT_EOL
  return length
}

export interface TcpPacketFields {
  /** IP source address: IPv4 as unsigned 32-bit, IPv6 as its text (address.ts); both of one family. */
  src: Address
  /** IP destination address. */
  dst: Address
  /** TCP source port. */
  srcPort: number
  /** TCP destination port. */
  dstPort: number
  /** Sequence number (low 32 bits are written). */
  seq: number
  /** Acknowledgment number (written as given, even without ACK; send 0 then). */
  ack: number
  /** Control bits, FIN..CWR. */
  flags: number
  /** Window field, already scaled down by our shift. */
  window: number
  /** Options to write; none if absent. */
  options?: TcpOptions
  /** Data to carry (copied). */
  payload?: Uint8Array
  /**
   * Leave the TCP checksum partial: only the pseudo header's sum, for a device that
   * finishes it (checksum offload; Linux's CHECKSUM_PARTIAL). Default: the full checksum.
   */
  partialChecksum?: boolean
  /** IP time to live (IPv6: hop limit); default 64. */
  ttl?: number
  /** IP identification; default 0 (IPv4 only). */
  id?: number
  /** Urgent pointer; default 0 (we never send urgent data). */
  urgentPointer?: number
  /** IP type of service byte (IPv6: traffic class), ECN bits included; default 0. */
  tos?: number
}

const EMPTY = new Uint8Array(0)

/** Bytes writeTcpPacket will write for f: IP header + TCP header + options + payload. */
export function tcpPacketLength(f: TcpPacketFields): number {
  return ipHeaderLength(f.src) + TCP_HEADER_LENGTH + (f.options ? tcpOptionsLength(f.options) : 0) + (f.payload?.length ?? 0)
}

/**
 * Write a whole IPv4 + TCP or IPv6 + TCP packet (by the family of f.src) at buf[offset]
 * with its checksums filled; returns its length. For callers with a preallocated buffer.
 * Throws RangeError on programming errors (options over 40 bytes, datagram over 65535
 * bytes, buffer too small).
 */
export function writeTcpPacket(buf: Uint8Array, offset: number, f: TcpPacketFields): number {
  const payload = f.payload ?? EMPTY
  const optionsLength = f.options ? tcpOptionsLength(f.options) : 0
  if (optionsLength > TCP_MAX_OPTIONS_LENGTH) {
    throw new RangeError(`TCP options need ${optionsLength} bytes, at most 40 fit`)
  }
  const headerLength = TCP_HEADER_LENGTH + optionsLength
  const tcpLength = headerLength + payload.length
  const ipLength = ipHeaderLength(f.src)
  const total = ipLength + tcpLength
  if (offset < 0 || offset + total > buf.length) throw new RangeError(`TCP packet of ${total} bytes does not fit`)
  if (typeof f.src === 'string') {
    if (typeof f.dst !== 'string') throw new RangeError('TCP packet from an IPv6 address to an IPv4 one')
    writeIPv6Header(buf, offset, {
      src: bytesV6(f.src), dst: bytesV6(f.dst), protocol: IPPROTO_TCP, payloadLength: tcpLength, hopLimit: f.ttl, trafficClass: f.tos,
    })
  } else {
    if (typeof f.dst !== 'number') throw new RangeError('TCP packet from an IPv4 address to an IPv6 one')
    writeIPv4Header(buf, offset, {
      src: f.src, dst: f.dst, protocol: IPPROTO_TCP, payloadLength: tcpLength, ttl: f.ttl, id: f.id, tos: f.tos,
    })
  }
  const o = offset + ipLength
  buf[o] = (f.srcPort >>> 8) & 0xff
  buf[o + 1] = f.srcPort & 0xff
  buf[o + 2] = (f.dstPort >>> 8) & 0xff
  buf[o + 3] = f.dstPort & 0xff
  writeU32(buf, o + 4, f.seq)
  writeU32(buf, o + 8, f.ack)
  buf[o + 12] = (headerLength / 4) << 4
  buf[o + 13] = f.flags & 0xff
  buf[o + 14] = (f.window >>> 8) & 0xff
  buf[o + 15] = f.window & 0xff
  buf[o + 16] = 0
  buf[o + 17] = 0
  const urg = f.urgentPointer ?? 0
  buf[o + 18] = (urg >>> 8) & 0xff
  buf[o + 19] = urg & 0xff
  if (f.options && optionsLength > 0) writeTcpOptions(buf, o + TCP_HEADER_LENGTH, f.options)
  buf.set(payload, o + headerLength)
  // RFC 9293 3.1: the checksum covers the pseudo header, the TCP header and the data.
  // Offloaded, the device adds the header and data to the pseudo header's sum itself.
  const pseudo = pseudoHeaderSumOf(f.src, f.dst, IPPROTO_TCP, tcpLength)
  const sum = f.partialChecksum ? pseudo : ~onesComplementSum(buf, o, o + tcpLength, pseudo) & 0xffff
  buf[o + 16] = sum >>> 8
  buf[o + 17] = sum & 0xff
  return total
}

/**
 * A copy of an IPv4 + TCP or IPv6 + TCP packet (as we send them: no extension headers)
 * with its TCP checksum computed in full: for a packet whose checksum a device finishes
 * (offload), before it is written to a capture file.
 */
export function withFullTcpChecksum(packet: Uint8Array): Uint8Array {
  const copy = packet.slice()
  const v6 = copy[0]! >> 4 === 6
  const ipHeaderLength = v6 ? IPV6_HEADER_LENGTH : (copy[0]! & 0x0f) * 4
  const tcpLength = copy.length - ipHeaderLength
  if (tcpLength < TCP_HEADER_LENGTH) return copy
  if (v6 ? copy[6] !== IPPROTO_TCP : (copy[0]! >> 4) !== 4 || copy[9] !== IPPROTO_TCP) return copy
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength)
  const pseudo = v6
    ? pseudoHeaderSumOf(copy.subarray(8, 24), copy.subarray(24, 40), IPPROTO_TCP, tcpLength)
    : pseudoHeaderSumOf(view.getUint32(12), view.getUint32(16), IPPROTO_TCP, tcpLength)
  copy[ipHeaderLength + 16] = 0
  copy[ipHeaderLength + 17] = 0
  const sum = ~onesComplementSum(copy, ipHeaderLength, copy.length, pseudo) & 0xffff
  copy[ipHeaderLength + 16] = sum >>> 8
  copy[ipHeaderLength + 17] = sum & 0xff
  return copy
}

/** One allocation: IP header + TCP header + options + payload, the checksums filled. */
export function buildTcpPacket(f: TcpPacketFields): Uint8Array {
  const buf = new Uint8Array(tcpPacketLength(f))
  writeTcpPacket(buf, 0, f)
  return buf
}

// tcpdump's letters, in tcpdump's order: '.' is ACK, 'P' PSH, 'W' CWR, 'E' ECE.
const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [FIN, 'F'], [SYN, 'S'], [RST, 'R'], [PSH, 'P'], [ACK, '.'], [URG, 'U'], [ECE, 'E'], [CWR, 'W'],
]

/** Control bits as tcpdump prints them: 'S', 'S.', 'F.', 'R', 'P.', '.', 'FP.'; 'none' for 0. */
export function flagsToString(flags: number): string {
  let s = ''
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) s += letter
  return s === '' ? 'none' : s
}
