// TCP Fast Open, the server's side (RFC 7413 4.1.2, 4.2.2): a listener that asked for it
// (TCP_FASTOPEN, `listen({ fastOpen })`) hands a client a cookie, a MAC of the client's
// address under a key only we know, and takes the data of a later SYN carrying that cookie
// at once: the connection goes to the application in SYN-RECEIVED with the data, and our
// SYN,ACK acknowledges it. Everything else is an ordinary three-way handshake.
//
// The cookie is Linux's (net/ipv4/tcp_fastopen.c, __tcp_fastopen_cookie_gen_cipher):
// SipHash-2-4 (siphash.ts) of the SYN's source and destination addresses, 8 bytes, under a
// 16-byte key; so a client that talked to Linux with the same key gets the same cookie.

import type { Counters } from '../counters.js'
import type { Random } from '../random.js'
import { addressLength, writeAddress, type Address } from '../wire/address.js'
import type { FastOpenOption, TcpSegment } from '../wire/tcp.js'
import type { TcpConfig } from './config.js'
import { countReceived, deliver } from './receive.js'
import { seqAdd } from './seq.js'
import { siphash24 } from './siphash.js'
import type { Tcb } from './tcb.js'

/** The cookie we give: 8 bytes (Linux's TCP_FASTOPEN_COOKIE_SIZE). */
export const FAST_OPEN_COOKIE_SIZE = 8

/** What a listener keeps for Fast Open (tcp-layer.ts Listener). */
export interface FastOpenListener {
  /** TCP_FASTOPEN: most Fast Open connections still in SYN-RECEIVED at once; 0: Fast Open off. */
  fastOpen: number
  /** Fast Open connections of this listener now in SYN-RECEIVED (Linux's fastopenq.qlen). */
  fastOpenPending: number
  /** listen()'s backlog: the queue length when config.fastOpen.serverAllListeners turns Fast Open on. */
  backlog: number
}

/** What to do with one SYN to a listener. */
export interface FastOpenDecision {
  /** Take the SYN's data now and hand the connection over in SYN-RECEIVED (RFC 7413 4.2.2). */
  accept: boolean
  /** The cookie option our SYN,ACK carries (a request answered, or a bad cookie replaced), if any. */
  cookie: FastOpenOption | undefined
}

const ORDINARY: FastOpenDecision = { accept: false, cookie: undefined }

type Key = readonly [bigint, bigint]

/**
 * The cookie keys: the stack's own, or those the config names (Linux's tcp_fastopen_key):
 * a primary, which makes the cookies we give, and perhaps a backup, which still checks the
 * ones given before the keys were rotated.
 */
export class FastOpenCookies {
  private readonly own: Key
  private named: { text: string; keys: Key[] } | null = null

  constructor(random: Random) {
    const w = (): bigint => BigInt(random.nextUint32())
    this.own = [w() | (w() << 32n), w() | (w() << 32n)]
  }

  /** The cookie for a SYN from `client` to `server`, under the primary key. */
  make(config: TcpConfig, client: Address, server: Address): Uint8Array {
    return cookieOf(this.keys(config)[0]!, client, server)
  }

  /** Which key `cookie` is valid under: 1 the primary, 2 the backup, 0 none (Linux's tcp_fastopen_cookie_gen_check). */
  check(config: TcpConfig, cookie: Uint8Array, client: Address, server: Address): 0 | 1 | 2 {
    const keys = this.keys(config)
    for (let i = 0; i < keys.length; i++) if (sameBytes(cookie, cookieOf(keys[i]!, client, server))) return i === 0 ? 1 : 2
    return 0
  }

  private keys(config: TcpConfig): Key[] {
    const text = config.fastOpenKey
    if (text === null) return [this.own]
    if (this.named?.text !== text) this.named = { text, keys: text.split(',').map(parseFastOpenKey) }
    return this.named.keys
  }
}

/**
 * SipHash-2-4 of the two addresses, source first (8 bytes for IPv4, 32 for IPv6), as 8 bytes
 * little-endian (Linux's __tcp_fastopen_cookie_gen_cipher).
 */
function cookieOf([k0, k1]: Key, client: Address, server: Address): Uint8Array {
  const addrs = new Uint8Array(addressLength(client) + addressLength(server))
  writeAddress(addrs, writeAddress(addrs, 0, client), server)
  const h = siphash24(k0, k1, addrs)
  const cookie = new Uint8Array(FAST_OPEN_COOKIE_SIZE)
  for (let i = 0; i < FAST_OPEN_COOKIE_SIZE; i++) cookie[i] = Number((h >> BigInt(8 * i)) & 0xffn)
  return cookie
}

/**
 * One key of Linux's tcp_fastopen_key text, four 32-bit words in hex, as SipHash's two
 * 64-bit key words: each group is stored little-endian (proc_tcp_fastopen_key), so k0 is
 * the first group with the second above it.
 */
export function parseFastOpenKey(text: string): Key {
  if (!/^[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{8}){3}$/.test(text)) throw new RangeError(`not a Fast Open key: ${text}`)
  const u = text.split('-').map(h => BigInt('0x' + h))
  return [u[0]! | (u[1]! << 32n), u[2]! | (u[3]! << 32n)]
}

/** The Fast Open queue length a listener has now: its own TCP_FASTOPEN, or its backlog under 0x400. */
export function fastOpenQueue(listener: FastOpenListener, config: TcpConfig): number {
  if (!config.fastOpen.server) return 0
  if (listener.fastOpen > 0) return listener.fastOpen
  return config.fastOpen.serverAllListeners ? listener.backlog : 0
}

/**
 * RFC 7413 4.2.2, the server on a SYN, in Linux's order (tcp_try_fastopen): only a Fast Open
 * listener with room in its queue, for a SYN with data or the option; with
 * serverNoCookie (0x200) any such SYN; a cookie request is answered; a valid cookie accepts;
 * one valid under the backup key accepts and gives the primary's; a bad one is replaced by a
 * fresh cookie and the data left for the client to send again.
 */
export function fastOpenOnSyn(listener: FastOpenListener, seg: TcpSegment, cookies: FastOpenCookies, config: TcpConfig,
  counters: Counters, client: Address, server: Address): FastOpenDecision {
  const fo = seg.options.fastOpen
  if (fo !== undefined && fo.cookie.length === 0) counters.fastOpenCookieRequests++
  const queue = fastOpenQueue(listener, config)
  if (queue === 0 || (seg.payload.length === 0 && fo === undefined)) return ORDINARY
  if (listener.fastOpenPending >= queue) {
    counters.fastOpenListenOverflow++ // RFC 7413 5.1: the queue bounds the half-open TFO connections
    return ORDINARY
  }
  if (config.fastOpen.serverNoCookie) return { accept: true, cookie: undefined }
  if (fo === undefined) return ORDINARY
  const fresh = { cookie: cookies.make(config, client, server), experimental: fo.experimental }
  if (fo.cookie.length === 0) return { accept: false, cookie: fresh }
  const valid = cookies.check(config, fo.cookie, client, server)
  if (valid === 1) return { accept: true, cookie: undefined }
  // Valid under the backup key (the keys were rotated): take the data, and give the new cookie.
  if (valid === 2) return { accept: true, cookie: fresh }
  counters.fastOpenPassiveFail++
  return { accept: false, cookie: fresh }
}

/**
 * RFC 7413 4.2.2: the SYN's data is accepted with the connection (before our SYN,ACK, which
 * then acknowledges it). The TCB is in SYN-RECEIVED; the bytes are handed to the application
 * by deliverSynData once it holds the connection.
 */
export function acceptSynData(tcb: Tcb, seg: TcpSegment): void {
  tcb.fastOpenPassive = true
  tcb.host.counters.fastOpenPassive++
  if (seg.payload.length === 0) return
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, seg.payload.length)
  tcb.synDataAcked = true
  countReceived(tcb, seg.payload.length)
}

/** The application holds the connection now: give it the SYN's data. */
export function deliverSynData(tcb: Tcb, seg: TcpSegment): void {
  if (seg.payload.length > 0 && tcb.state !== 'CLOSED') deliver(tcb, seg.payload)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
