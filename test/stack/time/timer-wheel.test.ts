import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { Clock } from '../../../src/stack/time/clock'
import { Timer, TimerWheel } from '../../../src/stack/time/timer-wheel'
import { VirtualClock } from '../../../src/stack/time/virtual-clock'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** A wheel on virtual time that records each firing as [name, clock time]. */
function setup(start = 0) {
  const clock = new VirtualClock(start)
  const wheel = new TimerWheel(clock)
  const fired: Array<[string, number]> = []
  const timer = (name: string, then?: () => void) =>
    new Timer(() => {
      fired.push([name, clock.now()])
      then?.()
    })
  return { clock, wheel, fired, timer }
}

describe('TimerWheel', () => {
  it('fires a timer at exactly its due ms, not one ms early', () => {
    const { clock, wheel, fired, timer } = setup()
    const t = timer('t')
    wheel.arm(t, 100)
    expect(t.armed).toBe(true)
    expect(t.expiresAt).toBe(100)
    clock.advance(99)
    expect(fired).toEqual([])
    clock.advance(1)
    expect(fired).toEqual([['t', 100]])
    expect(t.armed).toBe(false)
    expect(wheel.size).toBe(0)
  })

  it('calls the callback with the timer as `this`, so subclasses can share one function', () => {
    const clock = new VirtualClock(0)
    const wheel = new TimerWheel(clock)
    const seen: string[] = []
    function fire(this: Named): void {
      seen.push(this.name)
    }
    class Named extends Timer {
      constructor(readonly name: string) {
        super(fire)
      }
    }
    wheel.arm(new Named('a'), 5)
    wheel.arm(new Named('b'), 5)
    clock.advance(5)
    expect(seen).toEqual(['a', 'b'])
  })

  it('rounds fractional delays and fractional clock times up to whole ms', () => {
    const clock = new VirtualClock(10.25)
    const wheel = new TimerWheel(clock)
    let firedAt = -1
    const t = new Timer(() => (firedAt = clock.now()))
    wheel.arm(t, 4.5) // due no earlier than 14.75: tick ceil(10.25) + ceil(4.5) = 16
    expect(t.expiresAt).toBe(16)
    clock.advanceTo(15.99)
    expect(firedAt).toBe(-1)
    clock.advanceTo(16)
    expect(firedAt).toBe(16)
  })

  it('fires timers across levels in due order', () => {
    const { clock, wheel, fired, timer } = setup()
    const delays = [3 * HOUR, 5, 70_000, 300, 2 * MINUTE, 1, 20 * MINUTE, 16_384, 255, 256, 2 * DAY]
    for (const d of delays) wheel.arm(timer(String(d)), d)
    clock.advance(3 * DAY)
    expect(fired).toEqual([...delays].sort((a, b) => a - b).map((d) => [String(d), d]))
  })

  it('fires timers due at the same ms in the order they were armed, even arriving from different levels', () => {
    const { clock, wheel, fired, timer } = setup()
    // All due at 20 000 ms: armed at different times, so they sit at different levels.
    wheel.arm(timer('a'), 20_000) // level 2
    clock.advance(10_000)
    wheel.arm(timer('b'), 10_000) // level 1
    clock.advance(9_900)
    wheel.arm(timer('c'), 100) // level 0
    const d = timer('d')
    wheel.arm(d, 500)
    wheel.arm(d, 100) // re-armed: now last in arm order
    clock.advance(100)
    expect(fired).toEqual([
      ['a', 20_000],
      ['b', 20_000],
      ['c', 20_000],
      ['d', 20_000],
    ])
  })

  it('does not fire a disarmed timer; disarm is a no-op when not armed', () => {
    const { clock, wheel, fired, timer } = setup()
    const t = timer('t')
    wheel.disarm(t)
    wheel.arm(t, 50)
    wheel.disarm(t)
    wheel.disarm(t)
    expect(t.armed).toBe(false)
    expect(wheel.size).toBe(0)
    clock.advance(1000)
    expect(fired).toEqual([])
  })

  it('moves a re-armed timer, earlier or later', () => {
    const { clock, wheel, fired, timer } = setup()
    const t = timer('t')
    wheel.arm(t, 10 * SECOND)
    wheel.arm(t, 30)
    expect(wheel.size).toBe(1)
    clock.advance(30)
    expect(fired).toEqual([['t', 30]])
    wheel.arm(t, 30)
    wheel.arm(t, 2 * HOUR)
    clock.advance(HOUR)
    expect(fired).toHaveLength(1)
    clock.advance(HOUR)
    expect(fired).toEqual([
      ['t', 30],
      ['t', 2 * HOUR + 30],
    ])
  })

  it('lets a callback disarm or re-arm timers due in the same advance', () => {
    const { clock, wheel, fired, timer } = setup()
    const later = timer('later')
    const victim = timer('victim')
    const first = timer('first', () => {
      wheel.disarm(victim) // due at the same ms, after us
      wheel.arm(later, 500) // was due in this advance: must wait
      wheel.arm(first, 1000) // re-arm ourselves
    })
    wheel.arm(first, 100)
    wheel.arm(victim, 100)
    wheel.arm(later, 150)
    clock.advance(200) // one advance covering 100 and 150
    expect(fired).toEqual([['first', 100]])
    clock.advance(1000)
    expect(fired).toEqual([
      ['first', 100],
      ['later', 600],
      ['first', 1100],
    ])
  })

  it('fires a timer armed by a callback within the same clock advance when it falls in range', () => {
    const clock = new VirtualClock()
    const wheel = new TimerWheel(clock)
    const fired: number[] = []
    const second = new Timer(() => fired.push(clock.now()))
    const first = new Timer(() => {
      fired.push(clock.now())
      wheel.arm(second, 20)
    })
    wheel.arm(first, 10)
    clock.advanceTo(10)
    clock.advanceTo(500) // the callback re-set the wake-up to 30, inside this range
    expect(fired).toEqual([10, 30])
  })

  it('catches up in one advance() after the clock jumped, in due order', () => {
    // A clock that never calls back: the test drives advance() itself.
    let t = 0
    const clock: Clock = { now: () => t, wakeAt: () => {}, cancelWake: () => {} }
    const wheel = new TimerWheel(clock)
    const fired: Array<[string, number]> = []
    const mk = (name: string, then?: () => void) => new Timer(() => (fired.push([name, t]), then?.()))
    const chained = mk('chained')
    wheel.arm(mk('c'), 3 * HOUR)
    wheel.arm(mk('a'), 5)
    wheel.arm(
      mk('b', () => wheel.arm(chained, 10)),
      70_000,
    )
    t = 4 * HOUR
    wheel.advance()
    // `chained` was armed at clock time 4 h, so it is due at 4 h + 10 ms: not yet.
    expect(fired.map(([n]) => n)).toEqual(['a', 'b', 'c'])
    t += 10
    wheel.advance()
    expect(fired.map(([n]) => n)).toEqual(['a', 'b', 'c', 'chained'])
  })

  it('delays 0 fire at the next advance; a self-re-arming 0 ms timer cannot loop inside one advance', () => {
    let t = 0
    const clock: Clock = { now: () => t, wakeAt: () => {}, cancelWake: () => {} }
    const wheel = new TimerWheel(clock)
    let runs = 0
    const spin: Timer = new Timer(() => {
      runs++
      wheel.arm(spin, 0)
    })
    wheel.arm(spin, 0)
    wheel.advance()
    expect(runs).toBe(1)
    wheel.advance()
    expect(runs).toBe(2)
    expect(wheel.nextExpiry()).toBe(0)
  })

  describe('cascades at every level boundary', () => {
    const boundaries = [2 ** 8, 2 ** 14, 2 ** 20, 2 ** 26, 2 ** 32]
    const delays = boundaries.flatMap((b) => [b - 1, b, b + 1])
    for (const start of [0, 1, 255, 12_345, 2 ** 26 - 3, 2 ** 32 - 7, 2 ** 40 + 5]) {
      it(`fires each of ${delays.length} boundary delays at its exact ms (start ${start})`, () => {
        const { clock, wheel, fired, timer } = setup(start)
        for (const d of delays) wheel.arm(timer(String(d)), d)
        for (const d of delays) {
          clock.advanceTo(start + d - 1)
          expect(fired.length, `${d} early`).toBe(delays.indexOf(d))
          clock.advanceTo(start + d)
          expect(fired.at(-1)).toEqual([String(d), start + d])
        }
        expect(wheel.size).toBe(0)
        expect(clock.nextWake()).toBeUndefined()
      })
    }
  })

  it('handles delays of 1 h, 10 h, 3 days and 100 days (past the 49.7-day horizon)', () => {
    const { clock, wheel, fired, timer } = setup(7)
    const delays = [HOUR, 10 * HOUR, 3 * DAY, 100 * DAY]
    for (const d of delays) wheel.arm(timer(String(d)), d)
    for (const d of delays) {
      clock.advanceTo(7 + d - 1)
      expect(fired.at(-1)?.[0]).not.toBe(String(d))
      clock.advanceTo(7 + d)
      expect(fired.at(-1)).toEqual([String(d), 7 + d])
    }
  })

  it('wakes the clock only for the next thing to do, and only a handful of times for a long timer', () => {
    const base = new VirtualClock()
    let wakeCalls = 0
    let cancels = 0
    const clock: Clock = {
      now: () => base.now(),
      wakeAt: (at, cb) => (wakeCalls++, base.wakeAt(at, cb)),
      cancelWake: () => (cancels++, base.cancelWake()),
    }
    const wheel = new TimerWheel(clock)
    const timers = Array.from({ length: 1000 }, () => new Timer(() => {}))
    // Increasing delays: the first one sets the wake-up, the others leave it alone.
    timers.forEach((t, i) => wheel.arm(t, 1000 + i))
    expect(wakeCalls).toBe(1)
    expect(base.nextWake()).toBe(768) // 1000 ms sits at level 1: the wheel wakes at its block start to cascade it
    expect(base.nextWake()).toBe(wheel.nextExpiry())
    for (const t of timers) wheel.disarm(t)
    expect(cancels).toBe(1)
    expect(base.nextWake()).toBeUndefined()
    // A 3-day timer: the clock is woken at cascade steps only (at most one per level).
    wakeCalls = 0
    const long = new Timer(() => {})
    wheel.arm(long, 3 * DAY)
    base.advance(3 * DAY)
    expect(long.armed).toBe(false)
    expect(wakeCalls).toBeLessThanOrEqual(5)
  })

  it('keeps the clock wake-up equal to nextExpiry() and never later than the earliest timer', () => {
    const { clock, wheel, timer } = setup()
    const ts = [timer('a'), timer('b'), timer('c')]
    wheel.arm(ts[0]!, 5000)
    wheel.arm(ts[1]!, 40)
    wheel.arm(ts[2]!, 100_000)
    expect(clock.nextWake()).toBe(40)
    wheel.disarm(ts[1]!)
    expect(clock.nextWake()).toBe(wheel.nextExpiry())
    expect(clock.nextWake()).toBeLessThanOrEqual(5000)
    wheel.arm(ts[0]!, 200_000) // the earliest moves later
    expect(clock.nextWake()).toBe(wheel.nextExpiry())
    expect(clock.nextWake()).toBeLessThanOrEqual(100_000)
  })

  it('keeps going when a callback throws, and reports through onError', () => {
    const clock = new VirtualClock()
    const errors: Array<[unknown, Timer]> = []
    const wheel = new TimerWheel(clock, { onError: (e, t) => errors.push([e, t]) })
    const order: string[] = []
    const bad = new Timer(() => {
      order.push('bad')
      throw new Error('boom')
    })
    const good = new Timer(() => order.push('good'))
    wheel.arm(bad, 10)
    wheel.arm(good, 10)
    wheel.arm(new Timer(() => order.push('later')), 20)
    clock.advance(30)
    expect(order).toEqual(['bad', 'good', 'later'])
    expect(errors).toHaveLength(1)
    expect(errors[0]![1]).toBe(bad)
  })

  it('without onError, fires everything due and then rethrows', () => {
    let t = 0
    const clock: Clock = { now: () => t, wakeAt: () => {}, cancelWake: () => {} }
    const wheel = new TimerWheel(clock)
    const order: string[] = []
    wheel.arm(new Timer(() => { order.push('x'); throw new Error('x') }), 1)
    wheel.arm(new Timer(() => order.push('y')), 2)
    wheel.arm(new Timer(() => { order.push('z'); throw new Error('z') }), 3)
    const again = new Timer(() => order.push('again'))
    wheel.arm(again, 10)
    t = 5
    expect(() => wheel.advance()).toThrow(AggregateError)
    expect(order).toEqual(['x', 'y', 'z'])
    expect(wheel.size).toBe(1)
    t = 10
    wheel.advance() // the wheel still works
    expect(order).toEqual(['x', 'y', 'z', 'again'])
    wheel.arm(new Timer(() => { throw new Error('one') }), 1)
    t = 11
    expect(() => wheel.advance()).toThrow('one')
  })

  it('moves a timer armed in another wheel', () => {
    const clock = new VirtualClock()
    const w1 = new TimerWheel(clock)
    const w2 = new TimerWheel(new VirtualClock())
    const t = new Timer(() => {})
    w2.arm(t, 10)
    w1.arm(t, 10)
    expect([w1.size, w2.size]).toEqual([1, 0])
    w2.disarm(t) // routed to its own wheel
    expect([w1.size, t.armed]).toEqual([0, false])
  })

  it('rejects a non-finite delay', () => {
    const { wheel, timer } = setup()
    expect(() => wheel.arm(timer('t'), NaN)).toThrow(RangeError)
    expect(() => wheel.arm(timer('t'), Infinity)).toThrow(RangeError)
  })
})

// ---- Property tests against a naive model ----
//
// The model keeps a plain list of armed timers and, to advance, repeatedly fires the one
// with the smallest (due, arm sequence). One rule beyond that: a timer armed by a callback
// while already due (due <= the firing timer's due) waits for the next advance().

type Action = { kind: 'none' } | { kind: 'arm'; id: number; delay: number } | { kind: 'disarm'; id: number }
type Op =
  | { kind: 'arm'; id: number; delay: number; action: Action }
  | { kind: 'disarm'; id: number }
  | { kind: 'advance'; by: number }

const N = 8
/** Callback actions allowed per op, in both the wheel and the model. */
const BUDGET = 20
const delayArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 3, arbitrary: fc.integer({ min: 250, max: 20_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 16_000, max: 2 ** 22 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2 ** 22, max: 4 * DAY }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 255, 256, 257, 2 ** 14 - 1, 2 ** 14, 2 ** 20, 2 ** 26, 2 ** 32 + 1) },
)
const idArb = fc.integer({ min: 0, max: N - 1 })
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('arm' as const), id: idArb, delay: delayArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('disarm' as const), id: idArb }) },
)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('arm' as const), id: idArb, delay: delayArb, action: actionArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('disarm' as const), id: idArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), by: delayArb }) },
)

interface ModelTimer {
  due: number
  seq: number
  deferred: boolean
}

class Model {
  armed = new Map<number, ModelTimer>()
  actions: Action[] = Array.from({ length: N }, () => ({ kind: 'none' }))
  fired: Array<[number, number]> = []
  /** Callback actions left for the current op: bounds ping-pong chains (A arms B arms A ...). */
  budget = 0
  private seq = 0
  private firingDue: number | undefined = undefined
  constructor(public now: number) {}

  arm(id: number, delay: number, at: number): void {
    const due = at + delay
    const deferred = this.firingDue !== undefined && due <= this.firingDue
    this.armed.set(id, { due, seq: this.seq++, deferred })
  }

  run(action: Action, at: number): void {
    if (action.kind === 'arm') this.arm(action.id, action.delay, at)
    if (action.kind === 'disarm') this.armed.delete(action.id)
  }

  /** One wheel.advance() at `now`; `at(due)` is the clock time seen by the callback. */
  advance(at: (due: number) => number): void {
    for (const t of this.armed.values()) t.deferred = false
    for (;;) {
      let best: [number, ModelTimer] | undefined
      for (const [id, t] of this.armed) {
        if (t.deferred || t.due > this.now) continue
        if (!best || t.due < best[1].due || (t.due === best[1].due && t.seq < best[1].seq)) best = [id, t]
      }
      if (!best) break
      const [id, t] = best
      this.armed.delete(id)
      this.firingDue = t.due
      const now = at(t.due)
      this.fired.push([id, now])
      if (this.budget > 0) {
        this.budget--
        this.run(this.actions[id]!, now)
      }
    }
    this.firingDue = undefined
  }

  minDue(): number | undefined {
    let min: number | undefined
    for (const t of this.armed.values()) if (min === undefined || t.due < min) min = t.due
    return min
  }
}

describe('TimerWheel against a reference model (fast-check)', () => {
  const startArb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 34 }))

  it('clock-driven: same firings, times and order as the model; the wake-up is never late', () => {
    fc.assert(
      fc.property(startArb, fc.array(opArb, { maxLength: 60 }), (start, ops) => {
        const clock = new VirtualClock(start)
        const wheel = new TimerWheel(clock)
        const model = new Model(start)
        const fired: Array<[number, number]> = []
        let wheelBudget = 0
        const timers = Array.from({ length: N }, (_, id) =>
          new Timer(() => {
            fired.push([id, clock.now()])
            if (wheelBudget === 0) return
            wheelBudget--
            const a = model.actions[id]!
            if (a.kind === 'arm') wheel.arm(timers[a.id]!, a.delay)
            if (a.kind === 'disarm') wheel.disarm(timers[a.id]!)
          }),
        )
        for (const op of ops) {
          model.budget = wheelBudget = BUDGET
          if (op.kind === 'arm') {
            model.actions[op.id] = op.action
            model.arm(op.id, op.delay, clock.now())
            wheel.arm(timers[op.id]!, op.delay)
          } else if (op.kind === 'disarm') {
            model.armed.delete(op.id)
            wheel.disarm(timers[op.id]!)
          } else {
            // The clock wakes the wheel at each event, so each firing happens at its due time.
            const target = clock.now() + op.by
            for (;;) {
              const next = model.minDue()
              if (next === undefined || next > target) break
              model.now = Math.max(model.now, next)
              model.advance(() => model.now)
            }
            model.now = target
            clock.advanceTo(target)
          }
          expect(fired).toEqual(model.fired)
          expect(wheel.size).toBe(model.armed.size)
          for (let id = 0; id < N; id++) {
            expect(timers[id]!.armed).toBe(model.armed.has(id))
            if (model.armed.has(id)) expect(timers[id]!.expiresAt).toBe(model.armed.get(id)!.due)
          }
          const min = model.minDue()
          expect(clock.nextWake()).toBe(wheel.nextExpiry())
          if (min === undefined) expect(clock.nextWake()).toBeUndefined()
          else expect(clock.nextWake()!).toBeLessThanOrEqual(min)
        }
      }),
      { numRuns: 400 },
    )
  })

  it('manually driven: one advance() after arbitrary clock jumps matches the model', () => {
    fc.assert(
      fc.property(startArb, fc.array(opArb, { maxLength: 60 }), (start, ops) => {
        let now = start
        let wake: number | undefined
        const clock: Clock = { now: () => now, wakeAt: (at) => (wake = at), cancelWake: () => (wake = undefined) }
        const wheel = new TimerWheel(clock)
        const model = new Model(start)
        const fired: Array<[number, number]> = []
        let wheelBudget = 0
        const timers = Array.from({ length: N }, (_, id) =>
          new Timer(() => {
            fired.push([id, now])
            if (wheelBudget === 0) return
            wheelBudget--
            const a = model.actions[id]!
            if (a.kind === 'arm') wheel.arm(timers[a.id]!, a.delay)
            if (a.kind === 'disarm') wheel.disarm(timers[a.id]!)
          }),
        )
        for (const op of ops) {
          model.budget = wheelBudget = BUDGET
          if (op.kind === 'arm') {
            model.actions[op.id] = op.action
            model.arm(op.id, op.delay, now)
            wheel.arm(timers[op.id]!, op.delay)
          } else if (op.kind === 'disarm') {
            model.armed.delete(op.id)
            wheel.disarm(timers[op.id]!)
          } else {
            now += op.by
            model.now = now
            model.advance(() => now)
            wheel.advance()
          }
          expect(fired).toEqual(model.fired)
          expect(wheel.size).toBe(model.armed.size)
          expect(wake).toBe(wheel.nextExpiry())
          const min = model.minDue()
          if (min === undefined) expect(wake).toBeUndefined()
          else expect(wake!).toBeLessThanOrEqual(min)
        }
      }),
      { numRuns: 400 },
    )
  })
})
