// Virtual time for more than one stack: each stack's timer wheel owns its clock's single
// wake-up, so stacks that share one virtual time each get a VirtualClock of a ClockGroup,
// and the group moves them all together, firing their timers in time order.

import { VirtualClock } from './virtual-clock.js'

/** What a test's runner drives: one VirtualClock, or a ClockGroup of them. */
export interface VirtualTime {
  now(): number
  nextWake(): number | undefined
  advanceTo(t: number): void
}

/**
 * Several VirtualClocks that keep one time: each stack's timer wheel owns its
 * clock's single wake-up, so stacks sharing virtual time each get a clock here.
 */
export class ClockGroup implements VirtualTime {
  private readonly clocks: VirtualClock[] = []
  constructor(private readonly start = 0) {}

  /** A new clock at the group's current time. */
  clock(): VirtualClock {
    const c = new VirtualClock(this.clocks.length === 0 ? this.start : this.now())
    this.clocks.push(c)
    return c
  }

  now(): number {
    return this.clocks[0]?.now() ?? this.start
  }

  nextWake(): number | undefined {
    let next: number | undefined
    for (const c of this.clocks) {
      const w = c.nextWake()
      if (w !== undefined && (next === undefined || w < next)) next = w
    }
    return next
  }

  /** Move time forward by `ms` (>= 0); see advanceTo(). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms} ms`)
    this.advanceTo(this.now() + ms)
  }

  /** Move every clock to `t`, one due wake-up at a time so their timers interleave in time order. */
  advanceTo(t: number): void {
    for (;;) {
      const next = this.nextWake()
      if (next === undefined || next > t) break
      const at = Math.max(next, this.now())
      for (const c of this.clocks) c.advanceTo(at)
    }
    for (const c of this.clocks) c.advanceTo(t)
  }
}
