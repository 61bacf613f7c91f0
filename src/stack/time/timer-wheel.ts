// A hierarchical timing wheel (Varghese & Lauck, "Hashed and Hierarchical Timing
// Wheels", 1987, scheme 7): every TCP timer of every connection (retransmission,
// delayed ACK, persist, keepalive, 2MSL, the FIN-WAIT-2 timeout, a socket's idle timeout) lives here, and the whole wheel asks the
// clock for ONE wake-up: the next moment it has work to do.
//
// The wheel counts whole milliseconds ("ticks"). `time` is the last tick it has
// processed. A timer due at tick e sits in a slot chosen by how far e is from `time`:
//
//   level 0: 256 slots x 1 ms           covers the next 256 ms        (e - time < 2^8)
//   level 1:  64 slots x 256 ms         covers the next ~16 s         (e - time < 2^14)
//   level 2:  64 slots x 16.4 s         covers the next ~17.5 min     (e - time < 2^20)
//   level 3:  64 slots x 17.5 min       covers the next ~18.6 h       (e - time < 2^26)
//   level 4:  64 slots x 18.6 h         covers the next ~49.7 days    (e - time < 2^32)
//
//      level 0  [0][1][2]...[255]        <- one slot per ms: everything in a slot is due at the same tick
//      level 1  [0][1]...[63]            <- slot j holds timers due in one 256 ms block
//      level 2  [0][1]...[63]               (j = bits 8..13 of e), and so on up
//        ...
//
// Level 0 slot index is e mod 256; level i slot index is bits [s, s+6) of e, with s =
// 8 + 6(i-1). When time reaches the start of a block whose slot at level i is not
// empty, that slot "cascades": its timers are re-inserted relative to the new time,
// so they land in a lower level (finally level 0, where they fire). Each timer
// cascades at most once per level, so the work per timer is O(levels), and arm and
// disarm are O(1): each slot is an intrusive doubly linked list (the Timer carries
// its own prev/next/list pointers, so nothing is allocated).
//
// Beyond 2^32 ms (~49.7 days) a timer is parked in the farthest level-4 slot and
// simply re-parked each time that slot cascades until it comes within range: its
// expiry is kept exact, it just costs one extra cascade per 18.6 h.
//
// To find the next thing to do without visiting every timer, each level keeps a
// bitmap of its non-empty slots; the next event is the nearest non-empty level-0 slot,
// or the nearest block start whose level-i slot is not empty (a cascade step).
//
// Times: a timer armed at clock time `now` for `d` ms is due at
// ceil(now) + ceil(d), an integer; it fires in the first advance() whose
// floor(clock.now()) reaches that tick, never earlier. Timers due at the same tick
// fire in the order they were (last) armed. A timer armed from a callback that is
// already due (a delay of 0 at the current tick) fires in the NEXT advance(), so a
// callback that re-arms itself with delay 0 cannot loop forever inside one advance().

import type { Clock } from './clock.js'

/** Number of levels and the shift (log2 of the slot width in ms) of each level. */
const LEVELS = 5
const SHIFT = [0, 8, 14, 20, 26] as const
/** Slot width in ms at each level. */
const WIDTH = SHIFT.map((s) => 2 ** s)
/** A timer goes in level i when e - time < LIMIT[i]. */
const LIMIT = [2 ** 8, 2 ** 14, 2 ** 20, 2 ** 26, 2 ** 32]
/** The farthest the wheel can place a timer directly (ms). */
const HORIZON = 2 ** 32
const LEVEL0_SLOTS = 256
const LEVEL_SLOTS = 64

/** A reusable timer: create once per purpose (e.g. per TCB), then arm and disarm it. */
export class Timer {
  /**
   * Called when the timer fires; the timer is already disarmed by then. The wheel calls
   * it as `timer.callback()`, so `this` is the timer: a subclass can pass one shared
   * function instead of a closure per timer (the TIME-WAIT entry, tcp/time-wait.ts).
   */
  callback: () => void
  /** @internal previous timer in the same slot */
  _prev: Timer | null = null
  /** @internal next timer in the same slot */
  _next: Timer | null = null
  /** @internal the slot (list) holding this timer, null when not armed */
  _list: TimerList | null = null
  /** @internal absolute due tick */
  _expiresAt = 0
  /** @internal arm sequence number, for first-armed-first-fired at the same tick */
  _seq = 0

  constructor(callback: () => void) {
    this.callback = callback
  }

  get armed(): boolean {
    return this._list !== null
  }

  /** Absolute ms (clock time) at which the timer is due; meaningful while armed (keeps its last value after). */
  get expiresAt(): number {
    return this._expiresAt
  }
}

/** One slot: an intrusive doubly linked list of timers, plus its bit in its level's bitmap. */
class TimerList {
  head: Timer | null = null
  tail: Timer | null = null
  constructor(
    readonly wheel: TimerWheel,
    /** 0..4, or -1 for the list of timers already due */
    readonly level: number,
    readonly index: number,
    private readonly bits: Uint32Array | null,
  ) {}

  /** Append at the tail (the usual case: arm order). */
  append(timer: Timer): void {
    timer._list = this
    timer._next = null
    timer._prev = this.tail
    if (this.tail === null) {
      this.head = timer
      this.markNonEmpty()
    } else {
      this.tail._next = timer
    }
    this.tail = timer
  }

  /** Insert keeping the list ordered by arm sequence (used when a cascade merges older timers in). */
  insertBySeq(timer: Timer): void {
    let after = this.tail
    while (after !== null && after._seq > timer._seq) after = after._prev
    if (after === this.tail) return this.append(timer)
    timer._list = this
    timer._prev = after
    const before = after === null ? this.head! : after._next!
    timer._next = before
    before._prev = timer
    if (after === null) this.head = timer
    else after._next = timer
  }

  remove(timer: Timer): void {
    const { _prev: prev, _next: next } = timer
    if (prev === null) this.head = next
    else prev._next = next
    if (next === null) this.tail = prev
    else next._prev = prev
    timer._prev = timer._next = null
    timer._list = null
    if (this.head === null) this.markEmpty()
  }

  private markNonEmpty(): void {
    if (this.bits !== null) this.bits[this.index >>> 5]! |= 1 << (this.index & 31)
  }

  private markEmpty(): void {
    if (this.bits !== null) this.bits[this.index >>> 5]! &= ~(1 << (this.index & 31))
  }
}

/** Index of the first set bit at or after `start`, wrapping around; -1 if none. */
function findNextSet(bits: Uint32Array, start: number): number {
  const words = bits.length
  let w = start >>> 5
  let word = bits[w]! & (-1 << (start & 31))
  // words + 1 rounds: the last one revisits the start word whole (bits below start).
  for (let i = 0; i <= words; i++) {
    if (word !== 0) return (w << 5) + (31 - Math.clz32(word & -word))
    w = w + 1 === words ? 0 : w + 1
    word = bits[w]!
  }
  return -1
}

export interface TimerWheelOptions {
  /**
   * Called for each timer callback that throws; the wheel carries on with the next
   * timer. Without it, advance() finishes firing everything due and then rethrows
   * (the one error, or an AggregateError when several callbacks threw).
   */
  onError?: (error: unknown, timer: Timer) => void
}

export class TimerWheel {
  /** Last tick processed: every timer due at or before it has fired (or is in `due`). */
  private time: number
  /** levels[i][j]: slot j of level i. */
  private readonly levels: TimerList[][] = []
  /** bitmaps[i]: bit j set when levels[i][j] is not empty. */
  private readonly bitmaps: Uint32Array[] = []
  /** Timers armed while already due (delay 0 at the current tick): fire in the next advance(), FIFO. */
  private readonly due: TimerList
  private seq = 0
  private count = 0
  /** The wake-up we asked the clock for, if any. Outside advance() it always equals nextExpiry(). */
  private scheduledAt: number | undefined = undefined
  /** True inside advance(): arm/disarm then leave the clock alone, advance() re-syncs at the end. */
  private running = false
  private readonly onError: ((error: unknown, timer: Timer) => void) | undefined
  private readonly onWake = (): void => {
    this.scheduledAt = undefined // the clock just consumed it
    this.advance()
  }

  /**
   * The wheel owns the clock's single wake-up (Clock.wakeAt): give each wheel its own
   * clock, and let nothing else call wakeAt/cancelWake on it.
   */
  constructor(
    private readonly clock: Clock,
    options: TimerWheelOptions = {},
  ) {
    this.onError = options.onError
    this.time = Math.floor(clock.now())
    for (let level = 0; level < LEVELS; level++) {
      const slots = level === 0 ? LEVEL0_SLOTS : LEVEL_SLOTS
      const bits = new Uint32Array(slots / 32)
      const lists: TimerList[] = []
      for (let j = 0; j < slots; j++) lists.push(new TimerList(this, level, j, bits))
      this.levels.push(lists)
      this.bitmaps.push(bits)
    }
    this.due = new TimerList(this, -1, 0, null)
  }

  /** Number of armed timers. */
  get size(): number {
    return this.count
  }

  /** Arm `timer` to fire `delayMs` (rounded up to whole ms; negative means 0) from now. Moves it if armed. */
  arm(timer: Timer, delayMs: number): void {
    if (!Number.isFinite(delayMs)) throw new RangeError(`timer delay must be a finite number of ms, got ${delayMs}`)
    let movedFromFront = false
    const old = timer._list
    if (old !== null) {
      if (old.wheel !== this) old.wheel.disarm(timer)
      else {
        movedFromFront = !this.running && this.eventTick(timer) === this.scheduledAt
        old.remove(timer)
        this.count--
      }
    }
    const now = this.clock.now()
    if (!this.running) this.skipIdleTime(now)
    const expiresAt = Math.ceil(now) + Math.max(0, Math.ceil(delayMs))
    timer._expiresAt = expiresAt
    timer._seq = this.seq++
    this.count++
    let tick: number
    if (expiresAt <= this.time) {
      this.due.append(timer)
      tick = expiresAt
    } else {
      tick = this.place(timer, false)
    }
    if (this.running) return
    if (movedFromFront) this.sync()
    else if (this.scheduledAt === undefined || tick < this.scheduledAt) this.wake(tick)
  }

  /** Disarm `timer`; a no-op when it is not armed. */
  disarm(timer: Timer): void {
    const list = timer._list
    if (list === null) return
    if (list.wheel !== this) return list.wheel.disarm(timer)
    const wasFront = !this.running && this.eventTick(timer) === this.scheduledAt
    list.remove(timer)
    this.count--
    if (wasFront) this.sync()
  }

  /**
   * Fire every timer due at clock.now(), in due order (ties: arm order). Normally
   * called by the clock wake-up the wheel arranges; calling it directly is fine too.
   * A nested call from inside a callback does nothing.
   */
  advance(): void {
    if (this.running) return
    this.running = true
    const errors: unknown[] = []
    try {
      const target = Math.max(this.time, Math.floor(this.clock.now()))
      // 1. Timers that were already due when armed, in arm order. Those they arm in turn
      //    with sequence numbers >= limit wait for the next advance().
      const limit = this.seq
      while (this.due.head !== null && this.due.head._seq < limit) this.fire(this.due.head, errors)
      // 2. Walk the wheel from event to event (skipping empty ticks) up to target.
      for (;;) {
        const t = this.nextWheelTick()
        if (t === undefined || t > target) break
        this.time = t
        // Break down every higher-level slot whose block starts at t, from the top.
        for (let level = LEVELS - 1; level >= 1; level--) {
          if ((t & (WIDTH[level]! - 1)) === 0) this.cascade(this.levels[level]![(t >>> SHIFT[level]!) & (LEVEL_SLOTS - 1)]!)
        }
        // Nothing can be added to this slot while it runs: a timer armed now for tick t
        // goes to `due`, and other ticks with the same index are >= 256 ms away (level >= 1).
        const slot = this.levels[0]![t & (LEVEL0_SLOTS - 1)]!
        while (slot.head !== null) this.fire(slot.head, errors)
      }
      // No event lies in (time, target]: jumping there keeps every slot's meaning.
      this.time = target
    } finally {
      this.running = false
      this.sync()
    }
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} timer callbacks threw`)
  }

  /**
   * Earliest absolute time (ms) at which the wheel must run: a timer's expiry, or the
   * start of a block where a higher-level slot cascades (an intermediate step, not an
   * expiry). At or before now when a timer is already due. Undefined when empty.
   */
  nextExpiry(): number | undefined {
    if (this.due.head !== null) return this.due.head._expiresAt
    if (this.count === 0) return undefined
    return this.nextWheelTick()
  }

  // ---- internals ----

  private fire(timer: Timer, errors: unknown[]): void {
    timer._list!.remove(timer)
    this.count--
    try {
      timer.callback()
    } catch (error) {
      if (this.onError === undefined) {
        errors.push(error)
        return
      }
      try {
        this.onError(error, timer)
      } catch (reportError) {
        errors.push(reportError)
      }
    }
  }

  /**
   * Put a timer due after `time` into its slot; returns the tick at which that slot
   * needs the wheel (its expiry at level 0, its cascade tick above).
   */
  private place(timer: Timer, fromCascade: boolean): number {
    const e = timer._expiresAt
    let distance = e - this.time
    if (distance < LIMIT[0]!) {
      const slot = this.levels[0]![e & (LEVEL0_SLOTS - 1)]!
      // A cascade may bring in a timer armed before ones already here: keep arm order.
      if (fromCascade) slot.insertBySeq(timer)
      else slot.append(timer)
      return e
    }
    let at = e
    if (distance >= HORIZON) {
      // Out of range: park it in the farthest slot; it is re-placed when that slot cascades.
      at = this.time + HORIZON
      distance = HORIZON - 1
    }
    let level = 1
    while (distance >= LIMIT[level]!) level++
    // `>>>` takes the number mod 2^32 first, which keeps bits [s, s+6) for any s <= 26.
    this.levels[level]![(at >>> SHIFT[level]!) & (LEVEL_SLOTS - 1)]!.append(timer)
    return Math.floor(at / WIDTH[level]!) * WIDTH[level]!
  }

  /** Re-insert every timer of a higher-level slot relative to the current time (they move down). */
  private cascade(slot: TimerList): void {
    // Take the whole list first: a timer still beyond the horizon is parked again in
    // this very slot, and must wait for its next turn rather than loop here.
    let timer = slot.head
    let count = 0
    while (timer !== null) {
      count++
      timer = timer._next
    }
    for (let i = 0; i < count; i++) {
      const first = slot.head!
      slot.remove(first)
      this.place(first, true)
    }
  }

  /** The tick at which the armed timer's slot needs the wheel (see place()). */
  private eventTick(timer: Timer): number {
    const list = timer._list!
    if (list.level <= 0) return timer._expiresAt
    return this.cascadeTick(list.level, list.index)
  }

  /** First tick after `time` at which slot j of `level` (>= 1) cascades. */
  private cascadeTick(level: number, j: number): number {
    const width = WIDTH[level]!
    const current = (this.time >>> SHIFT[level]!) & (LEVEL_SLOTS - 1)
    const blocksAhead = ((j - current - 1) & (LEVEL_SLOTS - 1)) + 1 // 1..64
    return (Math.floor(this.time / width) + blocksAhead) * width
  }

  /** Next tick after `time` with work in the wheel proper (ignores `due`); O(levels) bitmap scans. */
  private nextWheelTick(): number | undefined {
    const time = this.time
    let best = Infinity
    const j0 = findNextSet(this.bitmaps[0]!, (time + 1) & (LEVEL0_SLOTS - 1))
    if (j0 >= 0) best = time + (((j0 - time) & (LEVEL0_SLOTS - 1)) || LEVEL0_SLOTS)
    for (let level = 1; level < LEVELS; level++) {
      const width = WIDTH[level]!
      // Nothing at this level (or above) can happen before the next block start.
      if (best <= (Math.floor(time / width) + 1) * width) break
      const current = (time >>> SHIFT[level]!) & (LEVEL_SLOTS - 1)
      const j = findNextSet(this.bitmaps[level]!, (current + 1) & (LEVEL_SLOTS - 1))
      if (j >= 0) best = Math.min(best, this.cascadeTick(level, j))
    }
    return best === Infinity ? undefined : best
  }

  /**
   * While idle, `time` lags behind the clock. Before arming, move it to now if no event
   * lies in between, so the new timer is placed exactly (not relative to a stale time).
   */
  private skipIdleTime(now: number): void {
    const target = Math.floor(now)
    if (target <= this.time || this.due.head !== null) return
    if (this.scheduledAt === undefined || this.scheduledAt > target) this.time = target
  }

  /** Make the clock's wake-up match nextExpiry(). */
  private sync(): void {
    const next = this.nextExpiry()
    if (next === this.scheduledAt) return
    if (next === undefined) {
      this.scheduledAt = undefined
      this.clock.cancelWake()
    } else {
      this.wake(next)
    }
  }

  private wake(at: number): void {
    this.scheduledAt = at
    this.clock.wakeAt(at, this.onWake)
  }
}
