// Out-of-order segments held until the gap before them fills
// (RFC 9293 3.10.7.4 seventh step; 3.8.6: a receiver should keep them).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Reassembly } from '../../../src/stack/tcp/reassembly'
import { seqAdd, seqDiff } from '../../../src/stack/tcp/seq'

const enc = (s: string) => new TextEncoder().encode(s)
const text = (chunks: Uint8Array[]) => Buffer.concat(chunks).toString()

describe('Reassembly', () => {
  it('starts empty and gives nothing', () => {
    const r = new Reassembly()
    expect(r.isEmpty).toBe(true)
    expect(r.takeInOrder(100)).toEqual({ data: [], fin: false, next: 100 })
  })

  it('keeps nothing past a FIN: bytes beyond it are cut, and a FIN drops what lies beyond it', () => {
    const r = new Reassembly()
    r.insert(110, enc('late'), false) // 110..113
    r.insert(105, enc('abc'), true) // 105..107, FIN at 108: 110..113 can never be data
    expect(r.bytes).toBe(3)
    r.insert(106, enc('bcdefg'), false) // overlaps the FIN: only 106..107 could be kept, and is held already
    expect(r.bytes).toBe(3)
    const got = r.takeInOrder(105)
    expect(text(got.data)).toBe('abc')
    expect(got).toMatchObject({ fin: true, next: 108 })
    expect(r.isEmpty).toBe(true)
  })

  it('holds a piece beyond a gap and releases it once the gap is at RCV.NXT', () => {
    const r = new Reassembly()
    r.insert(105, enc('world'), false)
    expect(r.bytes).toBe(5)
    expect(r.isEmpty).toBe(false)
    // The in-order bytes 100..104 were delivered directly by the caller; RCV.NXT is now 105.
    expect(r.takeInOrder(100)).toEqual({ data: [], fin: false, next: 100 })
    const got = r.takeInOrder(105)
    expect(text(got.data)).toBe('world')
    expect(got.next).toBe(110)
    expect(r.bytes).toBe(0)
    expect(r.isEmpty).toBe(true)
  })

  it('sorts pieces that arrive in reverse order', () => {
    const r = new Reassembly()
    r.insert(20, enc('cc'), false)
    r.insert(10, enc('bb'), false)
    r.insert(12, enc('xxxxxxxx'), false) // fills 12..19
    r.insert(0, enc('aaaaaaaaaa'), false)
    const got = r.takeInOrder(0)
    expect(text(got.data)).toBe('aaaaaaaaaabbxxxxxxxxcc')
    expect(got.next).toBe(22)
  })

  it('keeps the first copy of overlapping bytes and adds only the new parts', () => {
    const r = new Reassembly()
    r.insert(10, enc('BBBB'), false) // 10..13
    r.insert(8, enc('aaXXXXcc'), false) // 8..15 overlaps 10..13 entirely
    expect(r.bytes).toBe(8)
    r.insert(12, enc('YYYYdd'), false) // 12..17: only 16, 17 are new
    expect(r.bytes).toBe(10)
    const got = r.takeInOrder(8)
    expect(text(got.data)).toBe('aaBBBBccdd')
    expect(got.next).toBe(18)
  })

  it('ignores an exact duplicate', () => {
    const r = new Reassembly()
    r.insert(50, enc('dup'), false)
    r.insert(50, enc('dup'), false)
    expect(r.bytes).toBe(3)
    expect(text(r.takeInOrder(50).data)).toBe('dup')
  })

  it('trims a held piece that starts before RCV.NXT and drops one wholly before it', () => {
    const r = new Reassembly()
    r.insert(10, enc('0123456789'), false) // 10..19
    r.insert(30, enc('old'), false) // 30..32
    // Direct delivery moved RCV.NXT to 15 first (a segment 0..14 arrived in order).
    const got = r.takeInOrder(15)
    expect(text(got.data)).toBe('56789')
    expect(got.next).toBe(20)
    expect(r.bytes).toBe(3)
    const later = r.takeInOrder(40) // everything up to 40 came some other way
    expect(later).toEqual({ data: [], fin: false, next: 40 })
    expect(r.bytes).toBe(0)
  })

  it('keeps a copy, not a view of the packet buffer (which the link may reuse)', () => {
    const r = new Reassembly()
    const packet = enc('abc')
    r.insert(1, packet, false)
    packet.fill(0)
    expect(text(r.takeInOrder(1).data)).toBe('abc')
  })

  it('orders across the 2^32 wrap (RFC 9293 3.4)', () => {
    const r = new Reassembly()
    const base = 0xffff_fffc
    r.insert(2, enc('EF'), false) // after the wrap
    r.insert(0xffff_fffe, enc('CD'), false) // just before it
    r.insert(base, enc('AB'), false)
    const got = r.takeInOrder(base)
    expect(text(got.data)).toBe('ABCD')
    expect(got.next).toBe(0)
    const rest = r.takeInOrder(0)
    expect(text(rest.data)).toBe('')
    r.insert(0, enc('..'), false)
    expect(text(r.takeInOrder(0).data)).toBe('..EF')
  })

  it('keeps a piece that spans the wrap in one go', () => {
    const r = new Reassembly()
    r.insert(0xffff_fffe, enc('wrap'), true)
    const got = r.takeInOrder(0xffff_fffe)
    expect(text(got.data)).toBe('wrap')
    expect(got.next).toBe(2)
    expect(got.fin).toBe(true)
  })

  describe('the FIN (3.10.7.4, eighth step: only once the text before it is in)', () => {
    it('reports a FIN beyond a gap only when the data reaches it', () => {
      const r = new Reassembly()
      r.insert(10, enc('end'), true) // FIN at 13
      expect(r.takeInOrder(0).fin).toBe(false)
      expect(r.isEmpty).toBe(false)
      r.insert(0, enc('0123456789'), false)
      const got = r.takeInOrder(0)
      expect(text(got.data)).toBe('0123456789end')
      expect(got.fin).toBe(true)
      expect(got.next).toBe(13) // the FIN's own sequence number is the caller's to add
      expect(r.isEmpty).toBe(true)
    })

    it('holds a bare FIN (no data) beyond a gap', () => {
      const r = new Reassembly()
      r.insert(5, new Uint8Array(0), true)
      expect(r.bytes).toBe(0)
      expect(r.isEmpty).toBe(false)
      expect(r.takeInOrder(3).fin).toBe(false)
      // The missing bytes 3, 4 arrive in order and are delivered directly.
      expect(r.takeInOrder(5)).toEqual({ data: [], fin: true, next: 5 })
      expect(r.isEmpty).toBe(true)
    })

    it('reports the FIN once only', () => {
      const r = new Reassembly()
      r.insert(1, enc('x'), true)
      expect(r.takeInOrder(1).fin).toBe(true)
      expect(r.takeInOrder(2).fin).toBe(false)
    })
  })

  it('clear() forgets data and FIN', () => {
    const r = new Reassembly()
    r.insert(10, enc('abc'), true)
    r.clear()
    expect(r.isEmpty).toBe(true)
    expect(r.bytes).toBe(0)
    expect(r.takeInOrder(10)).toEqual({ data: [], fin: false, next: 10 })
  })
})

/** A byte string, where it starts in sequence space, and pieces of it as (offset, length). */
const scenario = fc
  .record({
    bytes: fc.uint8Array({ minLength: 1, maxLength: 120 }),
    // Anywhere in sequence space, often just before the wrap.
    base: fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0xffff_ff80, max: 0xffff_ffff })),
    fin: fc.boolean(),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: 119 }), { maxLength: 12 }),
    extra: fc.array(fc.record({ start: fc.nat(119), len: fc.integer({ min: 1, max: 40 }) }), { maxLength: 8 }),
    seed: fc.nat(),
  })
  .map(({ bytes, base, fin, cuts, extra, seed }) => {
    const n = bytes.length
    // A partition of the string (as a sender would segment it), plus overlapping retransmissions.
    const points = [0, ...cuts.filter(c => c < n).sort((x, y) => x - y), n]
    const pieces: { off: number; len: number; fin: boolean }[] = []
    for (let i = 0; i + 1 < points.length; i++) {
      pieces.push({ off: points[i]!, len: points[i + 1]! - points[i]!, fin: fin && points[i + 1] === n })
    }
    for (const e of extra) {
      const off = Math.min(e.start, n - 1)
      const len = Math.min(e.len, n - off)
      pieces.push({ off, len, fin: fin && off + len === n })
    }
    return { bytes, base, fin, pieces, seed }
  })

/** Shuffle with duplicates: every piece at least once, some twice or three times. */
function permuteWithDuplicates<T>(items: T[], seed: number): T[] {
  let x = seed >>> 0 || 1
  const rand = () => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x
  }
  const out: T[] = []
  for (const it of items) {
    const copies = 1 + (rand() % 3)
    for (let c = 0; c < copies; c++) out.push(it)
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = rand() % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe('Reassembly properties', () => {
  it('any permutation and duplication of the pieces, inserted then taken, yields the bytes exactly once', () => {
    fc.assert(fc.property(scenario, ({ bytes, base, fin, pieces, seed }) => {
      const r = new Reassembly()
      const covered = new Set<number>()
      for (const p of permuteWithDuplicates(pieces, seed)) {
        r.insert(seqAdd(base, p.off), bytes.slice(p.off, p.off + p.len), p.fin)
        for (let i = p.off; i < p.off + p.len; i++) covered.add(i)
        // The count it reports is the number of distinct bytes held.
        expect(r.bytes).toBe(covered.size)
      }
      const got = r.takeInOrder(base)
      expect(Buffer.concat(got.data)).toEqual(Buffer.from(bytes))
      expect(got.next).toBe(seqAdd(base, bytes.length))
      expect(got.fin).toBe(fin)
      expect(r.bytes).toBe(0)
      expect(r.isEmpty).toBe(true)
    }), { numRuns: 500 })
  })

  it('delivers the same stream when taken after every insertion, as the receive path does', () => {
    fc.assert(fc.property(scenario, ({ bytes, base, fin, pieces, seed }) => {
      const r = new Reassembly()
      let rcvNxt = base
      let finSeen = false
      const stream: Uint8Array[] = []
      const covered = new Set<number>()
      for (const p of permuteWithDuplicates(pieces, seed)) {
        // The first step trims what was already received (3.10.7.4); a piece wholly old is not inserted.
        const old = seqDiff(rcvNxt, seqAdd(base, p.off))
        if (old >= p.len && !(p.fin && old === p.len && !finSeen)) continue
        const skip = Math.max(0, Math.min(old, p.len))
        r.insert(seqAdd(base, p.off + skip), bytes.slice(p.off + skip, p.off + p.len), p.fin)
        for (let i = p.off + skip; i < p.off + p.len; i++) covered.add(i)
        const got = r.takeInOrder(rcvNxt)
        stream.push(...got.data)
        rcvNxt = got.next
        if (got.fin) {
          expect(finSeen).toBe(false)
          finSeen = true
        }
        // Held bytes are exactly those some piece carried and that are not delivered yet.
        const delivered = seqDiff(rcvNxt, base)
        expect(r.bytes).toBe([...covered].filter(o => o >= delivered).length)
      }
      expect(Buffer.concat(stream)).toEqual(Buffer.from(bytes))
      expect(rcvNxt).toBe(seqAdd(base, bytes.length))
      expect(finSeen).toBe(fin)
      expect(r.bytes).toBe(0)
    }), { numRuns: 500 })
  })
})
