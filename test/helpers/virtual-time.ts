// Running stacks in virtual time: advance the VirtualClock from one timer to
// the next, letting Node's queues (packets in flight, stream events) drain
// between steps. A 60-second TIME-WAIT costs no wall time.


export { ClockGroup, type VirtualTime } from '../../src/stack/time/clock-group'
import type { VirtualTime } from '../../src/stack/time/clock-group'

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
