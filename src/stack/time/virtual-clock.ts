// Virtual time for tests: nothing happens until the test moves the clock, and then
// everything happens synchronously, at exactly the time it was asked for.

import type { Clock } from './clock.js'

/** Consecutive wake-ups at one instant before we call it a loop (a callback re-arming for "now" forever). */
const MAX_WAKES_AT_ONE_INSTANT = 1_000_000

export class VirtualClock implements Clock {
  private current: number
  private pendingAt: number | undefined = undefined
  private pendingCallback: (() => void) | undefined = undefined

  constructor(start = 0) {
    if (!Number.isFinite(start)) throw new RangeError(`start must be finite, got ${start}`)
    this.current = start
  }

  now(): number {
    return this.current
  }

  wakeAt(at: number, callback: () => void): void {
    this.pendingAt = at
    this.pendingCallback = callback
  }

  cancelWake(): void {
    this.pendingAt = undefined
    this.pendingCallback = undefined
  }

  /** When the pending wake-up is due, if there is one (may be <= now: it fires on the next advance, even advance(0)). */
  nextWake(): number | undefined {
    return this.pendingAt
  }

  /** Move time forward by `ms` (>= 0); see advanceTo(). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms} ms`)
    this.advanceTo(this.current + ms)
  }

  /**
   * Move time forward to `t`, firing the wake-up whenever it falls due on the way, with
   * now() equal to its time (or to the current time, if it was asked for in the past).
   * A callback may ask for another wake-up; it fires too if it is at or before `t`.
   * If a callback throws, the error propagates and the time stays at that wake-up.
   */
  advanceTo(t: number): void {
    if (!(t >= this.current) || !Number.isFinite(t)) throw new RangeError(`cannot move time from ${this.current} to ${t}`)
    let wakesHere = 0
    while (this.pendingCallback !== undefined && this.pendingAt! <= t) {
      const at = this.pendingAt!
      const callback = this.pendingCallback
      this.pendingAt = undefined
      this.pendingCallback = undefined
      if (at > this.current) {
        this.current = at
        wakesHere = 0
      } else if (++wakesHere > MAX_WAKES_AT_ONE_INSTANT) {
        throw new Error(`VirtualClock: more than ${MAX_WAKES_AT_ONE_INSTANT} wake-ups at ${this.current} ms without time moving`)
      }
      callback()
    }
    this.current = t
  }
}
