// Real time: performance.now() and one Node timer at a time.

import type { Clock } from './clock.js'
import { afterThisTurn } from './microtask.js'

/** setTimeout's largest delay; a longer one would fire after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

export class RealClock implements Clock {
  /** The Node timer pending, if any, and the time (ms, now()'s origin) it was set for. */
  private handle: ReturnType<typeof setTimeout> | undefined = undefined
  private handleAt = Infinity
  /** The wake-up asked for: when, and whom to call (undefined: none). */
  private at = Infinity
  private callback: (() => void) | undefined = undefined
  /** One function for every Node timer: no closure per wake-up. */
  private readonly onTimeout = (): void => {
    this.handle = undefined
    this.handleAt = Infinity
    const callback = this.callback
    if (callback === undefined) return // cancelled, or replaced by one that has already run
    if (this.at - this.now() > 0) return this.schedule(this.at) // early or clamped: the rest
    this.callback = undefined
    this.at = Infinity
    callback()
  }

  /** The time read at the start of this turn of the event loop, or NaN once the turn is over. */
  private turnTime = NaN
  private readonly endTurn = (): void => {
    this.turnTime = NaN
  }

  /**
   * Milliseconds (fractional) since the process started; monotonic. One reading per turn of
   * the event loop: the first call reads performance.now(), later calls in the same
   * synchronous run (and its microtasks) get the same value, as Linux reads the clock once
   * per packet into tp->tcp_mstamp rather than at every use. A segment's arrival, its ACK and
   * the data it sends then carry one time; one turn lasts microseconds, far below the
   * millisecond granularity of TSval and the RTO.
   */
  now(): number {
    if (this.turnTime === this.turnTime) return this.turnTime
    this.turnTime = performance.now()
    afterThisTurn(this.endTurn)
    return this.turnTime
  }

  /**
   * One wake-up, replacing the one before. The callback never runs before `at`. The timer
   * wheel moves its wake-up on almost every segment (a retransmission or delayed ACK timer
   * armed, then stopped), so a Node timer already due no later than `at` is kept: it fires,
   * finds the wake-up later, and waits for the rest. Only an earlier wake-up costs a new
   * Node timer. Every timer is unref()'d: a lingering one (a TIME-WAIT, a keepalive) never
   * keeps the process alive by itself.
   */
  wakeAt(at: number, callback: () => void): void {
    this.at = at
    this.callback = callback
    if (this.handle !== undefined && this.handleAt <= at) return
    this.clearTimer()
    this.schedule(at)
  }

  /** No wake-up; a Node timer still pending fires and does nothing (cheaper than clearing it each time). */
  cancelWake(): void {
    this.callback = undefined
    this.at = Infinity
  }

  private schedule(at: number): void {
    this.handleAt = at
    this.handle = setTimeout(this.onTimeout, Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(at - this.now()))))
    this.handle.unref()
  }

  private clearTimer(): void {
    if (this.handle === undefined) return
    clearTimeout(this.handle)
    this.handle = undefined
    this.handleAt = Infinity
  }
}
