// The end of a turn: work that waits for the current synchronous run and its process.nextTick
// callbacks to finish, before the event loop goes on (the clock's one reading per turn, the
// stack's end of a batch of packets).

/**
 * Run `fn` as a microtask: after the current synchronous run, before the next turn of the
 * event loop. A reaction on one settled promise does what queueMicrotask does at less than
 * half its cost (queueMicrotask wraps each callback in an AsyncResource and a bound function;
 * `node bench/ping-pong.mjs`, docs/performance.md). `fn` must not throw.
 */
const SETTLED = Promise.resolve()
export function afterThisTurn(fn: () => void): void {
  void SETTLED.then(fn)
}
