// An IP address as the layers above IP pass it around, for either family: an IPv4
// address is its unsigned 32-bit number, an IPv6 address its RFC 5952 text ('fd77::2').
// TCP and UDP compare, store and key maps by it without looking inside; only the IP
// layer, the packet writers and the keyed hashes (ISNs, SYN and Fast Open cookies) ask
// for its family or its bytes, through this file. Why this shape: docs/architecture.md.

import { pseudoHeaderSum } from './checksum.js'
import { IPV4_HEADER_LENGTH, formatAddress, parseAddress } from './ipv4.js'
import { IPV6_HEADER_LENGTH, formatAddressV6, parseAddressV6, pseudoHeaderSumV6 } from './ipv6.js'

/** IPv4: an unsigned 32-bit number. IPv6: its RFC 5952 text, the one spelling of each address. */
export type Address = number | string

/** Is this an IPv6 address? */
export function isV6(a: Address): a is string {
  return typeof a === 'string'
}

/** 'IPv4' or 'IPv6', as net's `family`. */
export function familyOf(a: Address): 'IPv4' | 'IPv6' {
  return typeof a === 'string' ? 'IPv6' : 'IPv4'
}

/** The address as users read it: dotted quad or RFC 5952 text. */
export function addressText(a: Address): string {
  return typeof a === 'string' ? a : formatAddress(a)
}

/** The address with its port, as ss prints it: 10.77.0.2:80, [fd77::2]:80. */
export function endpointText(a: Address, port: number): string {
  return typeof a === 'string' ? `[${a}]:${port}` : `${formatAddress(a)}:${port}`
}

/** Bytes of the IP header our packets to or from `a` carry: 20 (IPv4, no options) or 40 (IPv6, no extension headers). */
export function ipHeaderLength(a: Address): number {
  return typeof a === 'string' ? IPV6_HEADER_LENGTH : IPV4_HEADER_LENGTH
}

/** Bytes of IP and TCP header without options: the MTU less this is the MSS (RFC 9293 3.7.1; RFC 8200 8.3: 60 for IPv6). */
export function tcpOverhead(a: Address): number {
  return ipHeaderLength(a) + 20
}

/** Most IPv6 addresses whose bytes are kept (the connections' peers, mostly); beyond it the cache starts again. */
const BYTES_CACHE_MAX = 4096
const v6Bytes = new Map<string, Uint8Array>()

/**
 * The 16 bytes of an IPv6 address in text, for the packet writers and the hashes. Kept in a
 * bounded cache (a connection asks for the same two on every segment); the bytes are shared:
 * read them, never write.
 */
export function bytesV6(a: string): Uint8Array {
  const cached = v6Bytes.get(a)
  if (cached !== undefined) return cached
  const b = parseAddressV6(a)
  if (b === null) throw new RangeError(`not an IPv6 address: ${a}`)
  if (v6Bytes.size >= BYTES_CACHE_MAX) v6Bytes.clear()
  v6Bytes.set(a, b)
  return b
}

/** The last IPv6 addresses turned into text, most recent first: a connection's packets carry the same two. */
const recentV6: Array<{ bytes: Uint8Array; text: string }> = []
const RECENT_V6_MAX = 4

/**
 * The Address of 16 bytes of an IPv6 header: its RFC 5952 text. The last few are kept, so
 * that a stream of packets between the same two hosts (the ACKs of a download) compares 16
 * bytes instead of formatting text each time.
 */
export function fromBytesV6(b: Uint8Array): string {
  for (let i = 0; i < recentV6.length; i++) {
    const e = recentV6[i]!
    if (sameBytes16(e.bytes, b)) return e.text
  }
  const text = formatAddressV6(b)
  if (recentV6.length === RECENT_V6_MAX) recentV6.pop()
  const bytes = new Uint8Array(16) // a copy of its own: b may be a view into a read buffer (a Buffer's slice() is one)
  bytes.set(b.subarray(0, 16))
  recentV6.unshift({ bytes, text })
  return text
}

function sameBytes16(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address, ::ffff:a.b.c.d (RFC 4291 2.5.5.2), or
 * null for any other address. A dual-stack socket names its IPv4 peers this way, and
 * connecting one to such an address puts IPv4 on the wire.
 */
export function unmappedV4(a: Address): number | null {
  if (typeof a === 'number') return null
  const b = bytesV6(a)
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return null
  if (b[10] !== 0xff || b[11] !== 0xff) return null
  return ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0
}

/** An IPv4 address as a dual-stack socket shows it: ::ffff:a.b.c.d (RFC 4291 2.5.5.2). */
export function mappedV6(a: number): string {
  return `::ffff:${formatAddress(a)}`
}

/** Parse text of either family ('10.77.0.2', 'fd77::2', '[fd77::2]') into an Address, or null. */
export function parseAnyAddress(s: string): Address | null {
  const v4 = parseAddress(s)
  if (v4 !== null) return v4
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s
  const v6 = parseAddressV6(bare)
  return v6 === null ? null : formatAddressV6(v6)
}

/**
 * The pseudo header's folded sum for a TCP or UDP checksum over either family: RFC 9293 3.1
 * for IPv4, RFC 8200 8.1 for IPv6. The addresses may be given as their 16 bytes (the IP
 * layer has them at hand for a packet that came in).
 */
export function pseudoHeaderSumOf(src: Address | Uint8Array, dst: Address | Uint8Array, protocol: number, length: number): number {
  if (typeof src === 'number' && typeof dst === 'number') return pseudoHeaderSum(src, dst, protocol, length)
  const s = typeof src === 'string' ? bytesV6(src) : src
  const d = typeof dst === 'string' ? bytesV6(dst) : dst
  if (typeof s === 'number' || typeof d === 'number') throw new RangeError('a pseudo header of two families')
  return pseudoHeaderSumV6(s, d, protocol, length)
}

/** Bytes writeAddress takes: 4 or 16. */
export function addressLength(a: Address): number {
  return typeof a === 'string' ? 16 : 4
}

/** Write the address's bytes at b[at] (4 or 16, network order), for a hash's input; returns the offset after them. */
export function writeAddress(b: Uint8Array, at: number, a: Address): number {
  if (typeof a === 'string') {
    b.set(bytesV6(a), at)
    return at + 16
  }
  b[at] = a >>> 24
  b[at + 1] = (a >>> 16) & 0xff
  b[at + 2] = (a >>> 8) & 0xff
  b[at + 3] = a & 0xff
  return at + 4
}

/** A multicast (or IPv4 broadcast, class E) destination, where RFC 1122 4.2.3.10 and RFC 4443 2.4 forbid answers: 224/3, ff00::/8. */
export function isMulticast(a: Address): boolean {
  return typeof a === 'string' ? a.startsWith('ff') : a >>> 28 >= 0xe
}

/** The send MSS to assume when the peer's SYN has no MSS option (RFC 9293 3.7.1): 536 for IPv4, 1220 for IPv6. */
export function defaultMss(a: Address): number {
  return typeof a === 'string' ? 1220 : 536
}

/** An address in text with its port, as ss prints it: 10.77.0.2:80, and IPv6 in brackets, [fd77::2]:80. */
export function hostPortText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
