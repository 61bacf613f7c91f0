// Out-of-order segments waiting for the gap before them to fill
// (RFC 9293 3.10.7.4, seventh step; 3.8.6 says a receiver should keep them).
// Pieces are kept sorted by sequence number and never overlap. Only acceptable
// (in-window) bytes are inserted, so the receive window bounds the memory held.

import { seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from './seq'

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
    const end = seqAdd(seq, data.length)
    if (fin) this.finSeq = end
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
        const piece = { seq: cursor, data: data.slice(from, from + seqDiff(gapEnd, cursor)) }
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

  clear(): void {
    this.pieces = []
    this.finSeq = null
    this.bytes = 0
  }
}
