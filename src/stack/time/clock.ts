// The clock is injected: the stack reads time and asks for one wake-up through it,
// so the same TCP code runs on real time (TUN) and on virtual time (tests).

export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number
  /**
   * Call `callback` once, at or after time `at` (ms, same origin as now()).
   * There is at most one pending wake-up: a new call replaces the previous one.
   */
  wakeAt(at: number, callback: () => void): void
  /** Forget the pending wake-up, if any. */
  cancelWake(): void
}
