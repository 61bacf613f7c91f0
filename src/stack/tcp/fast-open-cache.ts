// The client's Fast Open cookie cache (RFC 7413 4.1.3): per server address, the cookie
// the server gave us, the MSS it announced, and how its Fast Open SYNs have fared. Linux
// keeps these in its TCP metrics, one entry per destination IP (tcp_fastopen_cache_get and
// tcp_fastopen_cache_set in net/ipv4/tcp_metrics.c), and so do we: the port plays no part.
// Bounded: past `limit` entries the least recently used one goes.

import type { Address } from '../wire/address.js'

/** What the cache holds for one server address. */
export interface FastOpenEntry {
  /** The server's cookie (4..16 bytes), or null when it has given none. */
  cookie: Uint8Array | null
  /** The cookie came in the experimental option (kind 254, ExID 0xF989): it goes back in that form. */
  experimental: boolean
  /** The MSS option of the server's last SYN,ACK to a Fast Open SYN; 0: not known. */
  mss: number
  /**
   * The experimental option fallback, as Linux's try_exp: 0 nothing tried; 1 a cookie request in
   * the RFC form got no answer, so the next asks in the experimental form; 2 that got none either,
   * so back to the RFC form for good.
   */
  tryExp: 0 | 1 | 2
  /** Fast Open SYNs in a row lost on the way (the SYN timed out and the server never saw the data). */
  synLosses: number
  /** When the last of them was found lost (clock ms). */
  lastSynLoss: number
}

/** What a SYN,ACK taught us, for `learn`. */
export interface FastOpenLesson {
  /** The SYN,ACK's MSS option, 0 when it had none. */
  mss: number
  /** A cookie the SYN,ACK carried, to keep; null: keep the one we have. */
  cookie: { bytes: Uint8Array; experimental: boolean } | null
  /** Our SYN with data timed out and the server acknowledged none of the data: count a loss; else the count restarts. */
  synLost: boolean
  /** The experimental fallback step this SYN,ACK calls for (see FastOpenEntry.tryExp), 0 for none. */
  tryExp: 0 | 1 | 2
}

/** Linux's "60 s << syn_loss" of old kernels: after two losses in a row, no data in SYNs to that server for a while. */
const SYN_LOSS_BASE_MS = 60_000

export class FastOpenCache {
  private readonly entries = new Map<Address, FastOpenEntry>()

  constructor(private readonly limit = 1024) {}

  get size(): number {
    return this.entries.size
  }

  /** The entry for a server address, if any (it becomes the most recently used). */
  get(addr: Address): FastOpenEntry | undefined {
    const entry = this.entries.get(addr)
    if (entry !== undefined) {
      this.entries.delete(addr)
      this.entries.set(addr, entry)
    }
    return entry
  }

  /**
   * Recurring losses of SYNs with data (RFC 7413 4.1.3.2: a path that drops them): after two
   * in a row, SYNs to this server go without data for 60 s << losses, as Linux's old
   * tcp_send_syn_data did.
   */
  synDataBlocked(addr: Address, now: number): boolean {
    const e = this.entries.get(addr)
    return e !== undefined && e.synLosses > 1 && now < e.lastSynLoss + SYN_LOSS_BASE_MS * 2 ** Math.min(e.synLosses, 16)
  }

  /** Keep what a SYN,ACK to one of our Fast Open SYNs taught us (Linux's tcp_fastopen_cache_set). */
  learn(addr: Address, lesson: FastOpenLesson, now: number): void {
    let e = this.get(addr)
    if (e === undefined) {
      e = { cookie: null, experimental: false, mss: 0, tryExp: 0, synLosses: 0, lastSynLoss: 0 }
      this.entries.set(addr, e)
      if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!)
    }
    if (lesson.mss > 0) e.mss = lesson.mss
    if (lesson.cookie !== null) {
      e.cookie = lesson.cookie.bytes.slice()
      e.experimental = lesson.cookie.experimental
    } else if (lesson.tryExp > e.tryExp && e.cookie === null) {
      e.tryExp = lesson.tryExp
    }
    if (lesson.synLost) {
      e.synLosses++
      e.lastSynLoss = now
    } else {
      e.synLosses = 0
    }
  }

  /** Forget everything (`ip tcp_metrics flush all`). */
  clear(): void {
    this.entries.clear()
  }
}
