// Segments as a script sees them: built from a script line (inbound), decoded
// from the stack's packets (outbound), and printed back in the script's own
// notation, `S. 0:0(0) ack 1 win 65535 <mss 1460>`, for messages.

import { bytesV6, fromBytesV6, ipHeaderLength, pseudoHeaderSumOf, type Address } from '../../stack/wire/address.js'
import { onesComplementSum } from '../../stack/wire/checksum.js'
import { IPPROTO_TCP, parseIPv4, readU32, writeIPv4Header, writeU32 } from '../../stack/wire/ipv4.js'
import { parseIPv6, writeIPv6Header } from '../../stack/wire/ipv6.js'
import { ACK, FAST_OPEN_EXID, flagsToString, OPT_EXPERIMENTAL, OPT_FAST_OPEN, parseTcp, TCP_HEADER_LENGTH } from '../../stack/wire/tcp.js'
import type { EcnSpec, TcpOptionSpec } from './ast.js'

/** A TCP segment with its numbers as the script writes them. */
export interface ScriptSegment {
  flags: number
  seq: number
  len: number
  /** Shown only when the ACK flag is set, or when not zero. */
  ack: number
  win: number
  /** null: any options (`<...>`). */
  options: TcpOptionSpec[] | null
}

/** The ECN field's values by their script names (RFC 3168 5); `ect01` is either ECT. */
export const ECN_FIELD: Readonly<Record<EcnSpec, readonly number[]>> = { noecn: [0], ect1: [1], ect0: [2], ce: [3], ect01: [1, 2] }

/** The ECN field in script notation. */
export function ecnText(ecn: number): string {
  return ['[noecn]', '[ect1]', '[ect0]', '[ce]'][ecn & 3]!
}

/** The control bits in packetdrill's notation: `S.`, `F.`, `.`, `-` for none. */
export function flagsText(flags: number): string {
  const s = flagsToString(flags)
  return s === 'none' ? '-' : s
}

export function optionsText(options: TcpOptionSpec[] | null): string {
  if (options === null) return ' <...>'
  if (options.length === 0) return ''
  return ` <${options.map(optionText).join(',')}>`
}

/** One option as a script writes it: `mss 1460`, `sack 1:101 201:301`. */
export function optionText(o: TcpOptionSpec): string {
  switch (o.kind) {
    case 'nop': case 'eol': case 'sackOK': return o.kind
    case 'mss': case 'wscale': return `${o.kind} ${o.value}`
    case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`
    case 'TS': return `TS val ${o.val} ecr ${o.ecr}`
    case 'FO': case 'FOEXP': return o.cookie === '' ? o.kind : `${o.kind} ${o.cookie}`
  }
}

/** A segment in script notation. `win` and `ack` are left out when undefined. */
export function segmentText(s: { flags: number; seq: number; len: number; ack?: number; win?: number; options: TcpOptionSpec[] | null }): string {
  let text = `${flagsText(s.flags)} ${s.seq}:${(s.seq + s.len) >>> 0}(${s.len})`
  if (s.ack !== undefined && (s.flags & ACK || s.ack !== 0)) text += ` ack ${s.ack}`
  if (s.win !== undefined) text += ` win ${s.win}`
  return text + optionsText(s.options)
}

/** The options as bytes, in the order written (their total is a multiple of 4: the parser checks). */
export function encodeOptions(options: TcpOptionSpec[]): Uint8Array {
  const out: number[] = []
  for (const o of options) {
    switch (o.kind) {
      case 'nop': out.push(1); break
      case 'eol': out.push(0); break
      case 'mss': out.push(2, 4, o.value >>> 8, o.value & 0xff); break
      case 'wscale': out.push(3, 3, o.value); break
      case 'sackOK': out.push(4, 2); break
      case 'sack':
        out.push(5, 2 + 8 * o.blocks.length)
        for (const [l, r] of o.blocks) out.push(l >>> 24, (l >>> 16) & 0xff, (l >>> 8) & 0xff, l & 0xff, r >>> 24, (r >>> 16) & 0xff, (r >>> 8) & 0xff, r & 0xff)
        break
      case 'TS':
        out.push(8, 10, o.val >>> 24, (o.val >>> 16) & 0xff, (o.val >>> 8) & 0xff, o.val & 0xff, o.ecr >>> 24, (o.ecr >>> 16) & 0xff, (o.ecr >>> 8) & 0xff, o.ecr & 0xff)
        break
      case 'FO': case 'FOEXP': {
        const cookie = hexBytes(o.cookie)
        if (o.kind === 'FO') out.push(OPT_FAST_OPEN, 2 + cookie.length)
        else out.push(OPT_EXPERIMENTAL, 4 + cookie.length, FAST_OPEN_EXID >>> 8, FAST_OPEN_EXID & 0xff)
        out.push(...cookie)
        break
      }
    }
  }
  return Uint8Array.from(out)
}

/**
 * The option list of a header, kind by kind, NOPs and EOL included (EOL ends it,
 * as the padding after it is not options). Unknown kinds and bad lengths: null.
 */
export function decodeOptions(b: Uint8Array): TcpOptionSpec[] | null {
  const list: TcpOptionSpec[] = []
  let i = 0
  while (i < b.length) {
    const kind = b[i]!
    if (kind === 0) { list.push({ kind: 'eol' }); break }
    if (kind === 1) { list.push({ kind: 'nop' }); i++; continue }
    const len = b[i + 1]
    if (len === undefined || len < 2 || i + len > b.length) return null
    switch (kind) {
      case 2: if (len !== 4) return null; list.push({ kind: 'mss', value: (b[i + 2]! << 8) | b[i + 3]! }); break
      case 3: if (len !== 3) return null; list.push({ kind: 'wscale', value: b[i + 2]! }); break
      case 4: if (len !== 2) return null; list.push({ kind: 'sackOK' }); break
      case 5: {
        if ((len - 2) % 8 !== 0 || len < 10) return null
        const blocks: Array<[number, number]> = []
        for (let j = i + 2; j < i + len; j += 8) blocks.push([readU32(b, j), readU32(b, j + 4)])
        list.push({ kind: 'sack', blocks })
        break
      }
      case 8: if (len !== 10) return null; list.push({ kind: 'TS', val: readU32(b, i + 2), ecr: readU32(b, i + 6) }); break
      case OPT_FAST_OPEN: list.push({ kind: 'FO', cookie: hexText(b.subarray(i + 2, i + len)) }); break
      case OPT_EXPERIMENTAL:
        if (len < 4 || ((b[i + 2]! << 8) | b[i + 3]!) !== FAST_OPEN_EXID) return null
        list.push({ kind: 'FOEXP', cookie: hexText(b.subarray(i + 4, i + len)) })
        break
      default: return null
    }
    i += len
  }
  return list
}

function hexBytes(hex: string): number[] {
  const out: number[] = []
  for (let i = 0; i < hex.length; i += 2) out.push(parseInt(hex.slice(i, i + 2), 16))
  return out
}

function hexText(b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}

/**
 * Where an outbound option list differs from the script's, or null. As in
 * packetdrill (run_packet.c, verify_outbound_live_tcp_options), the options must
 * come in the same order with the same values, except a timestamp's val and ecr,
 * which depend on the stack's clock and are not compared.
 */
export function optionsMismatch(expected: TcpOptionSpec[], actual: TcpOptionSpec[]): string | null {
  const n = Math.max(expected.length, actual.length)
  for (let i = 0; i < n; i++) {
    const e = expected[i]
    const a = actual[i]
    if (e === undefined) return `unexpected option ${optionText(a!)} at position ${i + 1}`
    if (a === undefined) return `missing option ${optionText(e)} at position ${i + 1}`
    if (e.kind !== a.kind) return `option ${i + 1}: expected ${optionText(e)}, got ${optionText(a)}`
    if (e.kind !== 'TS' && optionText(e) !== optionText(a)) return `option ${i + 1}: expected ${optionText(e)}, got ${optionText(a)}`
  }
  return null
}

/** Shift every SACK block edge by `offset` (script numbers to wire numbers, or back). */
export function shiftSackBlocks(options: TcpOptionSpec[], offset: number): TcpOptionSpec[] {
  const out: TcpOptionSpec[] = []
  for (const o of options) {
    if (o.kind !== 'sack') { out.push(o); continue }
    const blocks: Array<[number, number]> = []
    for (const [l, r] of o.blocks) blocks.push([(l + offset) >>> 0, (r + offset) >>> 0])
    out.push({ kind: 'sack', blocks })
  }
  return out
}

/** The timestamp option of a list, if any. */
export function findTimestamp(options: TcpOptionSpec[] | null): { val: number; ecr: number } | undefined {
  for (const o of options ?? []) if (o.kind === 'TS') return o
  return undefined
}

/** A copy of a list with the timestamp echo reply replaced. */
export function withTsEcr(options: TcpOptionSpec[], ecr: number): TcpOptionSpec[] {
  return options.map(o => (o.kind === 'TS' ? { kind: 'TS', val: o.val, ecr } : o))
}

export interface WireSegment {
  /** IPv4 as a number, IPv6 as RFC 5952 text (wire/address.ts). */
  src: Address
  dst: Address
  srcPort: number
  dstPort: number
  seq: number
  ack: number
  flags: number
  win: number
  options: TcpOptionSpec[] | null
  payload: Uint8Array
  /** The IP header's ECN field (RFC 3168 5). */
  ecn: number
}

/** Decode a packet the stack sent; null when it is not TCP over IPv4 or IPv6 (ICMP, say). */
export function decodePacket(packet: Uint8Array): WireSegment | null {
  const v6 = packet.length > 0 && packet[0]! >> 4 === 6
  const ip = v6 ? parseIPv6(packet) : parseIPv4(packet)
  if (!ip.ok || ip.value.header.protocol !== IPPROTO_TCP) return null
  const h = ip.value.header
  const [src, dst, tos]: [Address, Address, number] = 'tos' in h ? [h.src, h.dst, h.tos] : [fromBytesV6(h.src), fromBytesV6(h.dst), h.trafficClass]
  const tcp = parseTcp(ip.value.payload, src, dst)
  if (!tcp.ok) return null
  const s = tcp.value
  return {
    src, dst, srcPort: s.srcPort, dstPort: s.dstPort, seq: s.seq, ack: s.ack, flags: s.flags, win: s.window,
    options: decodeOptions(ip.value.payload.subarray(TCP_HEADER_LENGTH, s.headerLength)), payload: s.payload, ecn: tos & 3,
  }
}

/** Build one IPv4 + TCP or IPv6 + TCP packet (by the family of src) with the options bytes exactly as given and the checksums. */
export function buildPacket(f: { src: Address; dst: Address; srcPort: number; dstPort: number; seq: number; ack: number; flags: number; win: number; options: Uint8Array; payload: Uint8Array; ecn?: number }): Uint8Array {
  const tcpLength = TCP_HEADER_LENGTH + f.options.length + f.payload.length
  const o = ipHeaderLength(f.src)
  const buf = new Uint8Array(o + tcpLength)
  if (typeof f.src === 'string' && typeof f.dst === 'string') {
    writeIPv6Header(buf, 0, { src: bytesV6(f.src), dst: bytesV6(f.dst), protocol: IPPROTO_TCP, payloadLength: tcpLength, trafficClass: f.ecn ?? 0 })
  } else if (typeof f.src === 'number' && typeof f.dst === 'number') {
    writeIPv4Header(buf, 0, { src: f.src, dst: f.dst, protocol: IPPROTO_TCP, payloadLength: tcpLength, tos: f.ecn ?? 0 })
  } else {
    throw new RangeError('a packet between addresses of two families')
  }
  buf[o] = f.srcPort >>> 8
  buf[o + 1] = f.srcPort & 0xff
  buf[o + 2] = f.dstPort >>> 8
  buf[o + 3] = f.dstPort & 0xff
  writeU32(buf, o + 4, f.seq >>> 0)
  writeU32(buf, o + 8, f.ack >>> 0)
  buf[o + 12] = ((TCP_HEADER_LENGTH + f.options.length) / 4) << 4
  buf[o + 13] = f.flags & 0xff
  buf[o + 14] = f.win >>> 8
  buf[o + 15] = f.win & 0xff
  buf.set(f.options, o + TCP_HEADER_LENGTH)
  buf.set(f.payload, o + TCP_HEADER_LENGTH + f.options.length)
  const sum = ~onesComplementSum(buf, o, o + tcpLength, pseudoHeaderSumOf(f.src, f.dst, IPPROTO_TCP, tcpLength)) & 0xffff
  buf[o + 16] = sum >>> 8
  buf[o + 17] = sum & 0xff
  return buf
}

/**
 * The bytes a script's data stands for: byte k of a stream (k = 0 for the byte
 * after the SYN) is pattern(k). Writes send it, inbound segments carry it, and
 * the runner checks both, so data that lands at the wrong offset is caught.
 */
export function patternByte(k: number): number {
  return (k * 7 + Math.floor(k / 251) * 13 + 1) & 0xff
}

export function pattern(offset: number, length: number): Uint8Array {
  const b = new Uint8Array(length)
  for (let i = 0; i < length; i++) b[i] = patternByte(offset + i)
  return b
}

/** Where a stream's bytes first differ from the pattern, or -1. */
export function patternMismatch(offset: number, data: Uint8Array): number {
  for (let i = 0; i < data.length; i++) if (data[i] !== patternByte(offset + i)) return i
  return -1
}
