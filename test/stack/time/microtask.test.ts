// afterThisTurn (src/stack/time/microtask.ts): a microtask, as queueMicrotask's, at less cost.
import { describe, expect, it } from 'vitest'
import { afterThisTurn } from '../../../src/stack/time/microtask'

describe('afterThisTurn', () => {
  it('from a macrotask (as a TUN read is): after its process.nextTick callbacks, before the next turn, in order with queueMicrotask', async () => {
    const order: string[] = []
    await new Promise<void>(resolve => setImmediate(() => {
      setImmediate(() => { order.push('next turn'); resolve() })
      afterThisTurn(() => order.push('first'))
      process.nextTick(() => order.push('nextTick'))
      afterThisTurn(() => order.push('second'))
      queueMicrotask(() => order.push('queueMicrotask'))
      afterThisTurn(() => order.push('third'))
      order.push('sync')
    }))
    expect(order).toEqual(['sync', 'nextTick', 'first', 'second', 'queueMicrotask', 'third', 'next turn'])
  })
})
