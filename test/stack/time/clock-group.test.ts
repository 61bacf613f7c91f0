import { describe, expect, it } from 'vitest'
import { Stack } from '../../../src/stack/stack'
import { ClockGroup } from '../../../src/stack/time/clock-group'
import { VirtualClock } from '../../../src/stack/time/virtual-clock'
import { linkPair } from '../../../src/tun/memory-link'

describe('ClockGroup', () => {
  it('moves every clock of the group, firing their wake-ups in time order', () => {
    const group = new ClockGroup(100)
    const [a, b] = [group.clock(), group.clock()]
    const fired: string[] = []
    a.wakeAt(130, () => fired.push(`a@${a.now()}`))
    b.wakeAt(120, () => fired.push(`b@${b.now()}`))
    group.advance(50)
    expect(fired).toEqual(['b@120', 'a@130'])
    expect([a.now(), b.now(), group.now()]).toEqual([150, 150, 150])
    expect(() => group.advance(-1)).toThrow(RangeError)
  })

  it('a clock drives one Stack: a second stack on the same clock is refused in one clear line', () => {
    const clock = new VirtualClock()
    const [l1, l2] = linkPair()
    new Stack({ address: '10.0.0.1', link: l1, clock })
    expect(() => new Stack({ address: '10.0.0.2', link: l2, clock })).toThrow(/already drives another Stack.*ClockGroup/)
  })
})
