// Real time: performance.now() and one Node timer at a time.

import type { Clock } from './clock.js'

/** setTimeout's largest delay; a longer one would fire after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

export class RealClock implements Clock {
  private handle: ReturnType<typeof setTimeout> | undefined = undefined

  /** Milliseconds (fractional) since the process started; monotonic. */
  now(): number {
    return performance.now()
  }

  /**
   * One pending Node timer, replaced on each call. It is unref()'d: a lingering timer
   * (a TIME-WAIT, a keepalive) never keeps the process alive by itself. The callback
   * never runs before `at`: an early or clamped timeout just re-arms for the rest.
   */
  wakeAt(at: number, callback: () => void): void {
    this.cancelWake()
    const check = (): void => {
      this.handle = undefined
      const remaining = at - this.now()
      if (remaining > 0) this.schedule(remaining, check)
      else callback()
    }
    this.schedule(at - this.now(), check)
  }

  cancelWake(): void {
    if (this.handle === undefined) return
    clearTimeout(this.handle)
    this.handle = undefined
  }

  private schedule(delay: number, fn: () => void): void {
    this.handle = setTimeout(fn, Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(delay))))
    this.handle.unref()
  }
}
