// One simulated path (src/testkit/sim/path.ts): the token-bucket policer passes a burst of
// its bucket at once, then its rate, and drops (never delays) the rest.
import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../../src/stack/random'
import { Path } from '../../../src/testkit/sim'

describe('Path: the policer', () => {
  it('passes the bucket at once, drops beyond it, refills at its rate, and delays nothing', () => {
    // 8 Mbit/s = 1000 bytes per ms, a 3000-byte bucket, 1000-byte packets, 5 ms of delay.
    const path = new Path({ delayMs: 5, policerBps: 8_000_000, policerBurstBytes: 3000 }, new SeededRandom(1))
    const packet = new Uint8Array(1000)
    const at0 = [0, 1, 2, 3, 4].map(() => path.send(packet, 0))
    expect(at0.map(a => a.length)).toEqual([1, 1, 1, 0, 0]) // three fit the bucket
    expect(at0[0]![0]!.at).toBe(5) // passed packets are not queued: only the path's delay
    expect(path.counters.policerDrops).toBe(2)
    expect(path.send(packet, 0.5)).toHaveLength(0) // half a packet of tokens so far
    expect(path.send(packet, 1.5)).toHaveLength(1) // 1.5 ms: 1500 bytes of tokens came back
    expect(path.send(packet, 100)).toHaveLength(1)
    expect(path.send(packet, 100)).toHaveLength(1)
    expect(path.send(packet, 100)).toHaveLength(1) // the bucket refilled to its 3000 bytes, no more
    expect(path.send(packet, 100)).toHaveLength(0)
    expect(path.counters.policerDrops).toBe(4)
  })

  it('refuses a policer rate or bucket that is not positive', () => {
    expect(() => new Path({ policerBps: 0 }, new SeededRandom(1))).toThrow(RangeError)
    expect(() => new Path({ policerBps: 1e6, policerBurstBytes: -1 }, new SeededRandom(1))).toThrow(RangeError)
  })
})
