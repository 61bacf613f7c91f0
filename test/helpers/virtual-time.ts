// Running stacks in virtual time: advance the VirtualClock from one timer to
// the next, letting Node's queues (packets in flight, stream events) drain
// between steps. A 60-second TIME-WAIT costs no wall time.

import { VirtualClock } from '../../src/stack/time/virtual-clock'

/** What the runners below drive: one VirtualClock, or a ClockGroup of them. */
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

/** Let every pending microtask, nextTick and immediate run (packets in flight, stream events). */
export async function settle(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>(resolve => setImmediate(resolve))
}

/** Advance virtual time by `ms`, firing every timer on its exact millisecond. */
export async function runFor(clock: VirtualTime, ms: number): Promise<void> {
  const end = clock.now() + ms
  await settle()
  for (;;) {
    const next = clock.nextWake()
    if (next === undefined || next > end) break
    clock.advanceTo(Math.max(next, clock.now()))
    await settle()
  }
  clock.advanceTo(end)
  await settle()
}

/** Advance virtual time until `done()` holds, or fail after `limitMs` of virtual time. */
export async function runUntil(clock: VirtualTime, done: () => boolean, limitMs = 600_000): Promise<void> {
  const end = clock.now() + limitMs
  await settle()
  while (!done()) {
    const next = clock.nextWake()
    if (next === undefined || next > end) throw new Error(`condition not reached within ${limitMs} ms of virtual time`)
    clock.advanceTo(Math.max(next, clock.now()))
    await settle()
  }
}
