// Out-of-order segments waiting for the gap before them to fill
// (RFC 9293 3.10.7.4, seventh step; 3.8.6 says a receiver should keep them).
// Pieces are kept sorted by sequence number and never overlap. Only acceptable
// (in-window) bytes are inserted, so the receive window bounds the memory held.

import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from './seq.js'

interface Piece {
  /** Sequence number of data[0]. */
  seq: number
  data: Uint8Array
}

export class Reassembly {
  private pieces: Piece[] = []
  /** Sequence number of a FIN seen beyond a gap, if any. */
  private finSeq: number | null = null
  /** Bytes held. */
  bytes = 0

  get isEmpty(): boolean {
    return this.pieces.length === 0 && this.finSeq === null
  }

  /** Keep a copy of the parts of [seq, seq + data.length) not held yet; remember a FIN after it. */
  insert(seq: number, data: Uint8Array, fin: boolean): void {
    // Nothing lies past a FIN (RFC 9293 3.10.7.4, eighth step): bytes beyond one already seen are not kept.
    if (!fin && this.finSeq !== null && seqGt(seqAdd(seq, data.length), this.finSeq)) {
      if (!seqLt(seq, this.finSeq)) return
      data = data.subarray(0, seqDiff(this.finSeq, seq))
    }
    const end = seqAdd(seq, data.length)
    if (fin) {
      this.finSeq = end
      this.dropFrom(end)
    }
    let cursor = seq
    let i = 0
    while (seqLt(cursor, end)) {
      const next = this.pieces[i]
      if (next !== undefined && seqLe(seqAdd(next.seq, next.data.length), cursor)) {
        i++
        continue
      }
      // A gap from `cursor` up to the next piece (or the end): fill it.
      const gapEnd = next === undefined ? end : seqMin(end, next.seq)
      if (seqLt(cursor, gapEnd)) {
        const from = seqDiff(cursor, seq)
        // A copy (the packet's buffer is the link's), never a view, even of a Buffer.
        const piece = { seq: cursor, data: new Uint8Array(data.subarray(from, from + seqDiff(gapEnd, cursor))) }
        this.pieces.splice(i, 0, piece)
        this.bytes += piece.data.length
        i++
      }
      if (next === undefined) break
      cursor = seqMax(gapEnd, seqAdd(next.seq, next.data.length))
      i++
    }
  }

  /** Take the data that now continues the in-order stream at `rcvNxt`, and whether the FIN follows it. */
  takeInOrder(rcvNxt: number): { data: Uint8Array[]; fin: boolean; next: number } {
    const data: Uint8Array[] = []
    let next = rcvNxt
    while (this.pieces.length > 0 && !seqGt(this.pieces[0]!.seq, next)) {
      const p = this.pieces.shift()!
      this.bytes -= p.data.length
      const skip = seqDiff(next, p.seq)
      if (skip < p.data.length) {
        data.push(p.data.subarray(skip))
        next = seqAdd(p.seq, p.data.length)
      }
    }
    const fin = this.finSeq !== null && this.finSeq === next
    if (fin) this.finSeq = null
    return { data, fin, next }
  }

  /**
   * Keep at most `maxPieces` pieces: drop the highest ones (farthest from RCV.NXT,
   * the least useful, as Linux's tcp_prune_ofo_queue does). Many tiny pieces cost
   * far more memory than their bytes; this bounds it. Returns the bytes dropped.
   */
  prune(maxPieces: number): number {
    let dropped = 0
    while (this.pieces.length > maxPieces) {
      const p = this.pieces.pop()!
      this.bytes -= p.data.length
      dropped += p.data.length
      this.finSeq = null // a FIN beyond a dropped piece goes too; the peer will send it again
    }
    return dropped
  }

  /** The runs of contiguous bytes held, [left, right), lowest first: what SACK blocks report (RFC 2018 4). */
  blocks(): Array<{ left: number; right: number }> {
    const runs: Array<{ left: number; right: number }> = []
    for (const p of this.pieces) {
      const end = seqAdd(p.seq, p.data.length)
      const last = runs[runs.length - 1]
      if (last !== undefined && last.right === p.seq) last.right = end
      else runs.push({ left: p.seq, right: end })
    }
    return runs
  }

  /** Let go of every byte at or beyond `seq` (a FIN there ends the stream). */
  private dropFrom(seq: number): void {
    while (this.pieces.length > 0) {
      const last = this.pieces[this.pieces.length - 1]!
      const end = seqAdd(last.seq, last.data.length)
      if (!seqGt(end, seq)) break
      if (seqLt(last.seq, seq)) {
        const keep = seqDiff(seq, last.seq)
        this.bytes -= last.data.length - keep
        last.data = last.data.subarray(0, keep)
        break
      }
      this.pieces.pop()
      this.bytes -= last.data.length
    }
  }

  clear(): void {
    this.pieces = []
    this.finSeq = null
    this.bytes = 0
  }
}
