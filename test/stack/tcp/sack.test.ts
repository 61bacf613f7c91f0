// The sender's SACK scoreboard (RFC 2018, RFC 6675): blocks merged, trimmed at
// SND.UNA, bogus blocks ignored, and the IsLost / NextSeg helpers loss recovery uses.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { MAX_BLOCKS, SackScoreboard } from '../../../src/stack/tcp/sack'

const UNA = 0xffff_f000 // near the wrap, so every comparison must be modulo 2^32
const at = (n: number) => (UNA + n) >>> 0
const blk = (l: number, r: number) => ({ left: at(l), right: at(r) })
const rel = (b: readonly { left: number; right: number }[]) => b.map(x => [(x.left - UNA) >>> 0, (x.right - UNA) >>> 0])

describe('SackScoreboard', () => {
  it('merges overlapping and touching blocks and counts SACKed bytes', () => {
    const sb = new SackScoreboard()
    sb.update([blk(3000, 4000)], UNA, at(10_000))
    sb.update([blk(1000, 2000), blk(2000, 2500)], UNA, at(10_000))
    sb.update([blk(3500, 5000)], UNA, at(10_000))
    expect(rel(sb.blocks)).toEqual([[1000, 2500], [3000, 5000]])
    expect(sb.sackedBytes).toBe(1500 + 2000)
    expect(sb.highestSacked).toBe(at(5000))
    expect(sb.isSacked(at(999))).toBe(false)
    expect(sb.isSacked(at(1000))).toBe(true)
    expect(sb.isSacked(at(2500))).toBe(false)
    expect(sb.isSacked(at(4999))).toBe(true)
  })

  it('forgets what SND.UNA has passed, cutting a block in two when needed', () => {
    const sb = new SackScoreboard()
    sb.update([blk(1000, 2000), blk(3000, 4000)], UNA, at(10_000))
    sb.update([], at(1500), at(10_000))
    expect(rel(sb.blocks)).toEqual([[1500, 2000], [3000, 4000]])
    expect(sb.sackedBytes).toBe(1500)
    sb.update([], at(4000), at(10_000))
    expect(sb.blocks).toEqual([])
    expect(sb.sackedBytes).toBe(0)
    expect(sb.highestSacked).toBeNull()
  })

  it('ignores blocks below SND.UNA (old or D-SACK), beyond SND.NXT, or empty (RFC 2018 4)', () => {
    const sb = new SackScoreboard()
    sb.update([blk(0, 500), blk(-100, 200), blk(9000, 11_000), blk(700, 700), blk(800, 600)], UNA, at(10_000))
    expect(sb.blocks).toEqual([])
  })

  it('IsLost: three discontiguous SACKed blocks above, or more than 2 * SMSS bytes (RFC 6675 4)', () => {
    const sb = new SackScoreboard()
    sb.update([blk(1000, 1100), blk(2000, 2100)], UNA, at(10_000))
    expect(sb.isLost(at(0), 1000)).toBe(false)
    sb.update([blk(3000, 3100)], UNA, at(10_000))
    expect(sb.isLost(at(0), 1000)).toBe(true) // three blocks above
    expect(sb.isLost(at(1500), 1000)).toBe(false) // only two above
    expect(sb.isLost(at(1050), 1000)).toBe(false) // SACKed itself
    const big = new SackScoreboard()
    big.update([blk(1000, 3001)], UNA, at(10_000))
    expect(big.isLost(at(0), 1000)).toBe(true) // 2001 bytes > 2 * 1000
  })

  it('nextHole: the first un-SACKed range below the highest SACKed byte', () => {
    const sb = new SackScoreboard()
    sb.update([blk(1000, 2000), blk(3000, 4000)], UNA, at(10_000))
    expect(rel([sb.nextHole(at(0))!])).toEqual([[0, 1000]])
    expect(rel([sb.nextHole(at(1500))!])).toEqual([[2000, 3000]])
    expect(rel([sb.nextHole(at(2500))!])).toEqual([[2500, 3000]])
    expect(sb.nextHole(at(3500))).toBeNull()
  })

  it('firstUnsacked: the byte itself, the start of the next hole, or one past the highest block', () => {
    const sb = new SackScoreboard()
    expect(sb.firstUnsacked(at(500))).toBe(at(500))
    sb.update([blk(1000, 2000), blk(3000, 4000)], UNA, at(10_000))
    expect(sb.firstUnsacked(at(500))).toBe(at(500))
    expect(sb.firstUnsacked(at(1500))).toBe(at(2000))
    expect(sb.firstUnsacked(at(3000))).toBe(at(4000))
    expect(sb.firstUnsacked(at(5000))).toBe(at(5000))
  })

  it('holds at most MAX_BLOCKS blocks, however many holes the peer reports', () => {
    const sb = new SackScoreboard()
    for (let i = 0; i < MAX_BLOCKS + 50; i++) sb.update([blk(100 + i * 20, 110 + i * 20)], UNA, at(1_000_000))
    expect(sb.blocks.length).toBe(MAX_BLOCKS)
    expect(sb.sackedBytes).toBe(MAX_BLOCKS * 10)
    sb.clear()
    expect(sb.isEmpty).toBe(true)
  })

  it('always keeps sorted, disjoint blocks whose lengths add up to sackedBytes (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 800 })), { maxLength: 40 }),
      fc.integer({ min: 0, max: 3000 }), (blocks, una) => {
        const sb = new SackScoreboard()
        const held = new Set<number>()
        for (const [l, n] of blocks) {
          sb.update([blk(l, l + n)], UNA, at(6000))
          if (l + n <= 6000) for (let i = l; i < l + n; i++) held.add(i)
        }
        sb.update([], at(una), at(6000))
        for (const i of [...held]) if (i < una) held.delete(i)
        let total = 0
        let prev = -1
        for (const [l, r] of rel(sb.blocks)) {
          expect(l).toBeGreaterThan(prev) // sorted, and not touching the previous block
          expect(r).toBeGreaterThan(l)
          total += r - l
          prev = r
        }
        expect(total).toBe(sb.sackedBytes)
        expect(sb.sackedBytes).toBe(held.size)
      }), { numRuns: 200 })
  })
})
