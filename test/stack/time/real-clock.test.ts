// RealClock (real-clock.ts) on vitest's fake timers (setTimeout and performance.now faked
// together), so nothing here waits or measures real time: one wake-up at a time, never
// before its time, and a later wake-up keeps the Node timer already pending.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RealClock } from '../../../src/stack/time/real-clock'

beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }) })
afterEach(() => { vi.useRealTimers() })

describe('RealClock', () => {
  it('calls back once, at or after the time asked for', () => {
    const clock = new RealClock()
    const fired: number[] = []
    clock.wakeAt(clock.now() + 50, () => fired.push(clock.now()))
    vi.advanceTimersByTime(49)
    expect(fired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(fired).toEqual([50])
    vi.advanceTimersByTime(1000)
    expect(fired).toHaveLength(1)
  })

  it('a later wake-up keeps the pending Node timer, which then waits for the rest', () => {
    const clock = new RealClock()
    const fired: string[] = []
    clock.wakeAt(40, () => fired.push('first'))
    clock.wakeAt(200, () => fired.push('second')) // replaces the first
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(40) // the kept timer fires early for the wake-up and re-arms
    expect(fired).toEqual([])
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(160)
    expect(fired).toEqual(['second'])
  })

  it('an earlier wake-up replaces the pending Node timer', () => {
    const clock = new RealClock()
    const fired: number[] = []
    clock.wakeAt(200, () => fired.push(200))
    clock.wakeAt(10, () => fired.push(10))
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(10)
    expect(fired).toEqual([10])
    vi.advanceTimersByTime(1000)
    expect(fired).toEqual([10])
  })

  it('cancelWake: nothing is called, and a wake-up asked for after it still comes', () => {
    const clock = new RealClock()
    const fired: string[] = []
    clock.wakeAt(30, () => fired.push('cancelled'))
    clock.cancelWake()
    vi.advanceTimersByTime(100)
    expect(fired).toEqual([])
    clock.wakeAt(clock.now() + 5, () => fired.push('after'))
    vi.advanceTimersByTime(5)
    expect(fired).toEqual(['after'])
  })

  it('a delay beyond setTimeout\'s range is waited for in pieces', () => {
    const clock = new RealClock()
    let fired = false
    const at = 2 ** 31 + 1000
    clock.wakeAt(at, () => { fired = true })
    vi.advanceTimersByTime(2 ** 31 - 1)
    expect(fired).toBe(false)
    vi.advanceTimersByTime(1001)
    expect(fired).toBe(true)
  })
})
