// SYN cookies (RFC 4987 section 3.6): when a listener's SYN queue is full we
// still answer a SYN, but keep nothing. Everything the connection needs later
// is folded into our initial sequence number, the "cookie"; the peer's ACK
// brings it back as SEG.ACK - 1, and if it checks out the connection is made
// then. A flood of spoofed SYNs costs one hash per SYN and no memory, so it
// never stops a real client from connecting.
//
// The encoding follows Linux (net/ipv4/syncookies.c), with SHA-256 as the keyed hash:
//
//   cookie = H1(4-tuple) + ISN(peer) + (count << 24) + ((H2(4-tuple, ISN(peer), count) + mssIndex) mod 2^24)
//
// - `count` is a clock that ticks once a minute; it sits in the top 8 bits, so a
//   cookie is accepted for at most MAX_AGE minutes after it was made;
// - `mssIndex` (2 bits) picks the peer's MSS from a small table: the one thing
//   from the SYN that cannot be recomputed from the ACK;
// - H1 and H2 are keyed with a secret drawn from the stack's random source, like
//   the ISN key (isn.ts), so nobody else can make a cookie that checks out.
//   Linux leaves the peer's ISN out of H2; we fold it in, so an ACK whose
//   sequence number is off by a little never decodes to another valid MSS index.
//
// The limitation, said plainly: a cookie has room for the MSS only. A SYN,ACK
// carrying a cookie therefore offers no other option (no window scale, SACK or
// timestamps; Linux hides those in the timestamp's low bits, which we do not
// do), and a connection made from a cookie runs without them. Without the SYN
// queue entry the SYN,ACK is not retransmitted either: a lost one is recovered
// by the peer retransmitting its SYN.

import { addressLength, defaultMss, isV6, writeAddress, type Address } from '../wire/address.js'
import { createHash } from 'node:crypto'
import type { Random } from '../random.js'
import { seqAdd } from './seq.js'

/** The peer MSS values a cookie can carry (Linux's msstab): 2 bits. */
export const COOKIE_MSS_TABLE = [536, 1300, 1440, 1460] as const
/** The same over IPv6 (Linux's msstab in syncookies.c for IPv6): MTUs 1280, 1480, 1500, 9000 less 60. */
export const COOKIE_MSS_TABLE_V6 = [1220, 1420, 1440, 8940] as const

/** A cookie's count is accepted while at most this many minutes old (Linux MAX_SYNCOOKIE_AGE). */
const MAX_AGE = 2
const COUNT_SHIFT = 24
const LOW_MASK = 0xff_ffff
const MINUTE_MS = 60_000

/** The connection a SYN asked for, as far as a cookie needs it. */
export interface CookieTuple {
  localAddr: Address
  localPort: number
  remoteAddr: Address
  remotePort: number
}

export class SynCookies {
  private readonly key = Buffer.alloc(16)

  constructor(random: Random) {
    for (let i = 0; i < 16; i += 4) this.key.writeUInt32BE(random.nextUint32(), i)
  }

  /** The ISS for a SYN,ACK answering a SYN with sequence number `peerIsn` and MSS option `peerMss` (536 when absent, 1220 over IPv6). */
  make(t: CookieTuple, peerIsn: number, peerMss: number | undefined, nowMs: number): number {
    const index = mssIndex(mssTable(t), peerMss ?? defaultMss(t.remoteAddr))
    const count = minute(nowMs)
    const low = (this.hash(2, t, count, peerIsn) + index) & LOW_MASK
    return seqAdd(seqAdd(this.hash(1, t), peerIsn), ((count << COUNT_SHIFT) >>> 0) + low)
  }

  /**
   * Check the cookie a peer's ACK returns: `cookie` is SEG.ACK - 1 and `peerIsn`
   * SEG.SEQ - 1. Returns the peer's MSS it encodes, or null when it does not check out
   * (never made by us, made for another 4-tuple or ISN, or too old).
   */
  check(t: CookieTuple, cookie: number, peerIsn: number, nowMs: number): number | null {
    const rest = seqAdd(cookie, -seqAdd(this.hash(1, t), peerIsn))
    const count = rest >>> COUNT_SHIFT
    const age = (minute(nowMs) - count) & 0xff // the count wraps at 8 bits
    if (age >= MAX_AGE) return null
    const index = (rest - this.hash(2, t, count, peerIsn)) & LOW_MASK
    const table = mssTable(t)
    return index < table.length ? table[index]! : null
  }

  /** Keyed hash of the 4-tuple (and for H2 the count and peer ISN), 32 bits. `which` keeps H1 and H2 independent. */
  private hash(which: number, t: CookieTuple, count = 0, peerIsn = 0): number {
    // The addresses are 4 bytes each for IPv4, 16 for IPv6.
    const msg = Buffer.alloc(1 + addressLength(t.localAddr) + addressLength(t.remoteAddr) + 12)
    msg.writeUInt8(which, 0)
    let at = writeAddress(msg, 1, t.localAddr)
    at = msg.writeUInt16BE(t.localPort, at)
    at = writeAddress(msg, at, t.remoteAddr)
    at = msg.writeUInt16BE(t.remotePort, at)
    at = msg.writeUInt32BE(count >>> 0, at)
    msg.writeUInt32BE(peerIsn >>> 0, at)
    return createHash('sha256').update(this.key).update(msg).digest().readUInt32BE(0)
  }
}

/** The table for the tuple's family. */
function mssTable(t: CookieTuple): readonly number[] {
  return isV6(t.remoteAddr) ? COOKIE_MSS_TABLE_V6 : COOKIE_MSS_TABLE
}

/** The largest table entry not above the peer's MSS (the smallest entry if all are). */
function mssIndex(table: readonly number[], mss: number): number {
  for (let i = table.length - 1; i > 0; i--) if (mss >= table[i]!) return i
  return 0
}

/** The cookie clock: minutes, 8 bits. */
function minute(nowMs: number): number {
  return Math.floor(nowMs / MINUTE_MS) & 0xff
}
