// Why the wire layer refused a packet. Each reason is a counter name
// (Counters.drop), so a string literal rather than an enum.

/** Every reason a parser in src/stack/wire can give, in the order the checks run. */
export const DROP_REASONS = [
  // IPv4, RFC 791 3.1
  'ip-truncated', // fewer bytes than a minimal header, the IHL or the total length claims
  'ip-version', // version field is not 4
  'ip-header-length', // IHL below 5 (20 bytes)
  'ip-total-length', // total length smaller than the header
  'ip-options', // an option whose length byte is missing, below 2 or runs past the header
  'ip-checksum', // header checksum does not verify (RFC 1071)
  'ip-fragment', // MF set or a non-zero fragment offset: we do not reassemble
  // IPv6, RFC 8200
  'ipv6-truncated', // shorter than the 40-byte header or than its payload length claims
  'ipv6-version', // version field is not 6
  'ipv6-extension', // an extension header cut short, hop-by-hop not first, or a chain over 8 long
  'ipv6-option', // a hop-by-hop or destination option malformed, or unknown with a discard action (4.2)
  'ipv6-routing', // a routing header with segments left: we are a host, not a router (4.4)
  'ipv6-fragment', // a fragment (offset or M set): we do not reassemble; atomic fragments pass
  // ICMP, RFC 792
  'icmp-truncated', // shorter than the 8-byte ICMP header
  'icmp-checksum', // checksum over the whole message does not verify
  'icmp-quote', // an ICMP error whose quoted datagram is not an IPv4 header plus 8 bytes (RFC 792, RFC 1122 3.2.2)
  // ICMPv6, RFC 4443
  'icmpv6-truncated', // shorter than 8 bytes: the ICMPv6 header and the 32-bit field every message has
  'icmpv6-checksum', // checksum with the IPv6 pseudo header does not verify (RFC 4443 2.3)
  'icmpv6-quote', // an ICMPv6 error whose quoted packet is not an IPv6 header plus 8 bytes (RFC 4443 2.4)
  // TCP, RFC 9293 3.1
  'tcp-truncated', // shorter than the 20-byte fixed header
  'tcp-data-offset', // data offset below 5 or past the end of the segment
  'tcp-checksum', // checksum with the pseudo header does not verify
  'tcp-options', // malformed option list (RFC 9293 3.1, 7323, 2018)
  // UDP, RFC 768
  'udp-truncated', // shorter than the 8-byte header, or than its length field claims
  'udp-length', // length field below 8 (the header alone)
  'udp-checksum', // a non-zero checksum with the pseudo header does not verify
] as const

/** A wire-level drop reason; counted under this name. */
export type DropReason = (typeof DROP_REASONS)[number]

/** The result of every parser: a value, or the reason the bytes were dropped. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: DropReason }

/** A failed parse, shared so the failure path allocates nothing. */
const DROPS = Object.fromEntries(DROP_REASONS.map(r => [r, Object.freeze({ ok: false as const, reason: r })])) as {
  readonly [R in DropReason]: { readonly ok: false; readonly reason: R }
}

/** The (frozen, shared) failure value for `reason`. */
export function drop(reason: DropReason): { ok: false; reason: DropReason } {
  return DROPS[reason]
}
