// Sequence number arithmetic modulo 2^32 (RFC 9293 section 3.4).
// Every comparison of sequence or acknowledgment numbers in the stack goes
// through these functions; nothing else writes `>>> 0` on a sequence number.

/** a + n, wrapped to 32 bits. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0
}

/** The signed distance from b to a: positive when a is after b. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0
}

export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) < 0
}

export function seqLe(a: number, b: number): boolean {
  return seqDiff(a, b) <= 0
}

export function seqGt(a: number, b: number): boolean {
  return seqDiff(a, b) > 0
}

export function seqGe(a: number, b: number): boolean {
  return seqDiff(a, b) >= 0
}

/** low <= x < high, modulo 2^32. */
export function seqInWindow(x: number, low: number, high: number): boolean {
  return seqLe(low, x) && seqLt(x, high)
}

export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b
}

export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b
}
