// The sender's SACK scoreboard (RFC 2018, RFC 6675): which bytes above SND.UNA
// the peer has told us it holds, from the SACK blocks on its ACKs.
//
// API (kept on the TCB as `tcb.scoreboard`; input.ts feeds it, loss recovery reads it):
//   update(blocks, sndUna, sndNxt)  merge the SACK blocks of one arriving ACK (only when
//                                   SACK was negotiated) and forget everything below SND.UNA.
//                                   Blocks not inside (SND.UNA, SND.NXT] are ignored (RFC 2018 4
//                                   and 5: old or bogus; a D-SACK block falls below SND.UNA).
//   isSacked(seq)                   the byte at `seq` is SACKed.
//   firstUnsacked(from)             the first byte at or after `from` that is not SACKed.
//   sackedBytes                     bytes SACKed in all.
//   highestSacked                   the right edge of the highest block (one past the highest
//                                   SACKed byte), or null when nothing is SACKed.
//   sackedAbove(seq)                bytes SACKed at or above `seq`.
//   blocksAbove(seq)                SACKed blocks lying wholly at or above `seq` (discontiguous).
//   isLost(seq, smss, dupThresh=3)  RFC 6675 IsLost(SeqNum): DupThresh discontiguous SACKed
//                                   blocks above it, or more than (DupThresh - 1) * SMSS bytes.
//   nextHole(from)                  the first un-SACKed range [start, end) at or after `from`
//                                   below highestSacked, or null: what NextSeg (RFC 6675 4) looks at.
//   blocks                          the blocks, sorted, disjoint (read only).
//   clear()                         forget everything (after an RTO the peer may have reneged,
//                                   RFC 2018 8; on a new connection).
//
// Memory is bounded: at most MAX_BLOCKS disjoint blocks are kept; beyond that the
// highest are dropped, which only makes the sender more conservative.

import { seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from './seq.js'

/** A run of SACKed bytes: [left, right) in sequence space. */
export interface SackBlock {
  left: number
  right: number
}

/** Most disjoint SACKed ranges kept per connection. */
export const MAX_BLOCKS = 256

export class SackScoreboard {
  private list: SackBlock[] = []
  /** Bytes SACKed in all. */
  sackedBytes = 0

  /** The blocks, sorted by sequence number, never overlapping or touching. */
  get blocks(): readonly SackBlock[] {
    return this.list
  }

  get isEmpty(): boolean {
    return this.list.length === 0
  }

  /** One past the highest SACKed byte, or null. */
  get highestSacked(): number | null {
    const last = this.list[this.list.length - 1]
    return last === undefined ? null : last.right
  }

  /** Merge the blocks of one ACK; forget what SND.UNA has passed. */
  update(blocks: readonly SackBlock[], sndUna: number, sndNxt: number): void {
    this.trim(sndUna)
    for (const b of blocks) {
      // RFC 2018 4: a block describes data received and queued, so it must lie in
      // (SND.UNA, SND.NXT]; anything else is old (or a D-SACK, RFC 2883) or bogus.
      if (!seqLt(b.left, b.right) || !seqGt(b.left, sndUna) || seqGt(b.right, sndNxt)) continue
      this.add(b.left, b.right)
    }
  }

  /** Drop every SACKed byte below `sndUna` (it is cumulatively acknowledged now). */
  trim(sndUna: number): void {
    while (this.list.length > 0) {
      const first = this.list[0]!
      if (seqLe(first.right, sndUna)) {
        this.list.shift()
        this.sackedBytes -= seqDiff(first.right, first.left)
      } else {
        if (seqLt(first.left, sndUna)) {
          this.sackedBytes -= seqDiff(sndUna, first.left)
          first.left = sndUna
        }
        return
      }
    }
  }

  isSacked(seq: number): boolean {
    for (const b of this.list) {
      if (seqLt(seq, b.left)) return false
      if (seqLt(seq, b.right)) return true
    }
    return false
  }

  /** Bytes SACKed at or above `seq`. */
  sackedAbove(seq: number): number {
    let n = 0
    for (let i = this.list.length - 1; i >= 0; i--) {
      const b = this.list[i]!
      if (seqLe(b.right, seq)) break
      n += seqDiff(b.right, seqMax(b.left, seq))
    }
    return n
  }

  /** The blocks wholly at or above `seq`. */
  blocksAbove(seq: number): number {
    let n = 0
    for (let i = this.list.length - 1; i >= 0; i--) {
      if (seqLt(this.list[i]!.left, seq)) break
      n++
    }
    return n
  }

  /**
   * RFC 6675 4, IsLost(SeqNum): the byte at `seq` counts as lost when DupThresh
   * discontiguous SACKed ranges lie above it, or more than (DupThresh - 1) * SMSS
   * bytes above it are SACKed.
   */
  isLost(seq: number, smss: number, dupThresh = 3): boolean {
    if (this.isSacked(seq)) return false
    return this.blocksAbove(seq) >= dupThresh || this.sackedAbove(seq) > (dupThresh - 1) * smss
  }

  /** The first range at or after `from`, below the highest SACKed byte, that is not SACKed. */
  nextHole(from: number): SackBlock | null {
    let start = from
    for (const b of this.list) {
      if (seqLe(b.right, start)) continue
      if (seqLt(start, b.left)) return { left: start, right: b.left }
      start = b.right // inside this block: the hole, if any, begins after it
    }
    return null
  }

  /** The first byte at or after `from` that is not SACKed: `from` itself, a hole's start, or one past the highest block. */
  firstUnsacked(from: number): number {
    const hole = this.nextHole(from)
    return hole !== null ? hole.left : seqMax(from, this.highestSacked ?? from)
  }

  clear(): void {
    this.list = []
    this.sackedBytes = 0
  }

  /** Insert [left, right), merging with every block it overlaps or touches. */
  private add(left: number, right: number): void {
    const list = this.list
    let i = 0
    while (i < list.length && seqLt(list[i]!.right, left)) i++ // blocks wholly before, not touching
    let j = i
    while (j < list.length && seqLe(list[j]!.left, right)) {
      left = seqMin(left, list[j]!.left)
      right = seqMax(right, list[j]!.right)
      this.sackedBytes -= seqDiff(list[j]!.right, list[j]!.left)
      j++
    }
    list.splice(i, j - i, { left, right })
    this.sackedBytes += seqDiff(right, left)
    while (list.length > MAX_BLOCKS) {
      const dropped = list.pop()!
      this.sackedBytes -= seqDiff(dropped.right, dropped.left)
    }
  }
}
