// RealClock (real-clock.ts) on vitest's fake timers (setTimeout and performance.now faked
// together), so nothing here waits or measures real time: one wake-up at a time, never
// before its time, and a later wake-up keeps the Node timer already pending. The clock reads
// the time once per turn of the event loop, so time moves on with the Async advances, which
// run the microtasks between timers as Node does.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RealClock } from '../../../src/stack/time/real-clock'

beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }) })
afterEach(() => { vi.useRealTimers() })

describe('RealClock', () => {
  it('calls back once, at or after the time asked for', async () => {
    const clock = new RealClock()
    const fired: number[] = []
    clock.wakeAt(clock.now() + 50, () => fired.push(clock.now()))
    await vi.advanceTimersByTimeAsync(49)
    expect(fired).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(fired).toEqual([50])
    await vi.advanceTimersByTimeAsync(1000)
    expect(fired).toHaveLength(1)
  })

  it('a later wake-up keeps the pending Node timer, which then waits for the rest', async () => {
    const clock = new RealClock()
    const fired: string[] = []
    clock.wakeAt(40, () => fired.push('first'))
    clock.wakeAt(200, () => fired.push('second')) // replaces the first
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(40) // the kept timer fires early for the wake-up and re-arms
    expect(fired).toEqual([])
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(160)
    expect(fired).toEqual(['second'])
  })

  it('an earlier wake-up replaces the pending Node timer', async () => {
    const clock = new RealClock()
    const fired: number[] = []
    clock.wakeAt(200, () => fired.push(200))
    clock.wakeAt(10, () => fired.push(10))
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(10)
    expect(fired).toEqual([10])
    await vi.advanceTimersByTimeAsync(1000)
    expect(fired).toEqual([10])
  })

  it('cancelWake: nothing is called, and a wake-up asked for after it still comes', async () => {
    const clock = new RealClock()
    const fired: string[] = []
    clock.wakeAt(30, () => fired.push('cancelled'))
    clock.cancelWake()
    await vi.advanceTimersByTimeAsync(100)
    expect(fired).toEqual([])
    clock.wakeAt(clock.now() + 5, () => fired.push('after'))
    await vi.advanceTimersByTimeAsync(5)
    expect(fired).toEqual(['after'])
  })

  it('a delay beyond setTimeout\'s range is waited for in pieces', async () => {
    const clock = new RealClock()
    let fired = false
    const at = 2 ** 31 + 1000
    clock.wakeAt(at, () => { fired = true })
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1)
    expect(fired).toBe(false)
    await vi.advanceTimersByTimeAsync(1001)
    expect(fired).toBe(true)
  })

  it('one reading per turn: calls in the same synchronous run agree, the next turn reads again', async () => {
    const clock = new RealClock()
    const first = clock.now()
    vi.advanceTimersByTime(5) // time passes inside the turn (a long synchronous run)...
    expect(clock.now()).toBe(first) // ...and the turn still has the time it started with
    await Promise.resolve() // the turn's microtasks ran: a new turn
    expect(clock.now()).toBe(first + 5)
  })
})
