// The send buffer: bytes the application has written that are not yet
// acknowledged. Byte 0 is the oldest unacknowledged data byte (SND.UNA, once
// the SYN is acknowledged); bytes past SND.NXT are queued but not yet sent.
// Chunks are kept as written, so appending never copies a large buffer.
// Record ends (send with MSG_EOR) are kept as stream offsets: no segment crosses one.

export class SendBuffer {
  private chunks: Uint8Array[] = []
  /** Bytes already consumed from chunks[0] (acknowledged). */
  private head = 0
  /** Total bytes held. */
  length = 0
  /** Bytes ever acknowledged and dropped: converts front offsets to stream offsets. */
  private dropped = 0
  /** Stream offsets where a record ends (MSG_EOR), ascending, all beyond `dropped`. */
  private recordEnds: number[] = []

  append(data: Uint8Array): void {
    if (data.length === 0) return
    this.chunks.push(data)
    this.length += data.length
  }

  /** MSG_EOR: what is queued so far ends a record; later data never shares a segment with it (Linux's tcp_skb_can_collapse_to). */
  markRecordEnd(): void {
    const end = this.dropped + this.length
    if (this.length > 0 && this.recordEnds.at(-1) !== end) this.recordEnds.push(end)
  }

  /** Bytes from `offset` (from the front) to the end of its record, or Infinity when no record end follows. */
  toRecordEnd(offset: number): number {
    const at = this.dropped + offset
    for (const end of this.recordEnds) if (end > at) return end - at
    return Infinity
  }

  /** Drop `n` bytes from the front: they were acknowledged. */
  consume(n: number): void {
    n = Math.min(n, this.length)
    this.length -= n
    this.dropped += n
    while (this.recordEnds.length > 0 && this.recordEnds[0]! <= this.dropped) this.recordEnds.shift()
    while (n > 0) {
      const first = this.chunks[0]!
      const left = first.length - this.head
      if (n < left) {
        this.head += n
        return
      }
      n -= left
      this.chunks.shift()
      this.head = 0
    }
  }

  /** `len` bytes starting `offset` bytes from the front: a view when they lie in one chunk, else a copy. */
  read(offset: number, len: number): Uint8Array {
    len = Math.min(len, this.length - offset)
    if (len <= 0) return new Uint8Array(0)
    let pos = offset + this.head
    let i = 0
    while (pos >= this.chunks[i]!.length) {
      pos -= this.chunks[i]!.length
      i++
    }
    const chunk = this.chunks[i]!
    if (pos + len <= chunk.length) return chunk.subarray(pos, pos + len)
    const out = new Uint8Array(len)
    let filled = 0
    while (filled < len) {
      const c = this.chunks[i++]!
      const take = Math.min(c.length - pos, len - filled)
      out.set(c.subarray(pos, pos + take), filled)
      filled += take
      pos = 0
    }
    return out
  }

  clear(): void {
    this.chunks = []
    this.head = 0
    this.dropped += this.length
    this.length = 0
    this.recordEnds = []
  }
}
