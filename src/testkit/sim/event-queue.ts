// The simulation's agenda: things to do at a virtual time, earliest first, and in the
// order they were scheduled when times are equal (so a run never depends on heap order).

export interface Scheduled {
  at: number
  /** Scheduling order: the tie-breaker between events at the same time. */
  seq: number
  run: () => void
}

/** A binary min-heap on (at, seq). */
export class EventQueue {
  private readonly heap: Scheduled[] = []
  private nextSeq = 0

  get size(): number {
    return this.heap.length
  }

  push(at: number, run: () => void): void {
    const item: Scheduled = { at, seq: this.nextSeq++, run }
    const h = this.heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(item, h[parent]!)) break
      h[i] = h[parent]!
      i = parent
    }
    h[i] = item
  }

  /** Time of the earliest event, or undefined when empty. */
  peekTime(): number | undefined {
    return this.heap[0]?.at
  }

  pop(): Scheduled | undefined {
    const h = this.heap
    const top = h[0]
    if (top === undefined) return undefined
    const last = h.pop()!
    if (h.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let smallest = last
        let at = i
        if (l < h.length && before(h[l]!, smallest)) {
          smallest = h[l]!
          at = l
        }
        if (r < h.length && before(h[r]!, smallest)) {
          smallest = h[r]!
          at = r
        }
        if (at === i) break
        h[i] = smallest
        i = at
      }
      h[i] = last
    }
    return top
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
