// The send buffer: bytes written and not yet acknowledged (RFC 9293 3.3.1,
// SND.UNA onwards), kept as written, read back for (re)transmission at any offset.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SendBuffer } from '../../../src/stack/tcp/send-buffer'

const enc = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => Buffer.from(b).toString()

describe('SendBuffer', () => {
  it('starts empty and reads nothing', () => {
    const b = new SendBuffer()
    expect(b.length).toBe(0)
    expect(b.read(0, 10)).toHaveLength(0)
  })

  it('ignores an empty append', () => {
    const b = new SendBuffer()
    b.append(new Uint8Array(0))
    b.append(enc('ab'))
    b.append(new Uint8Array(0))
    expect(b.length).toBe(2)
    expect(str(b.read(0, 10))).toBe('ab')
  })

  it('reads within one chunk as a view, without copying', () => {
    const b = new SendBuffer()
    const chunk = enc('hello world')
    b.append(chunk)
    const view = b.read(6, 5)
    expect(str(view)).toBe('world')
    expect(view.buffer).toBe(chunk.buffer)
  })

  it('reads across chunk boundaries into one copy', () => {
    const b = new SendBuffer()
    b.append(enc('abc'))
    b.append(enc('d'))
    b.append(enc('efgh'))
    expect(str(b.read(0, 8))).toBe('abcdefgh')
    expect(str(b.read(2, 3))).toBe('cde')
    expect(str(b.read(3, 1))).toBe('d')
    expect(str(b.read(3, 2))).toBe('de')
    expect(str(b.read(4, 100))).toBe('efgh') // clipped to what is held
    expect(b.read(8, 1)).toHaveLength(0)
    expect(b.read(20, 1)).toHaveLength(0)
  })

  it('consumes acknowledged bytes from the front, within and across chunks', () => {
    const b = new SendBuffer()
    b.append(enc('abc'))
    b.append(enc('defg'))
    b.consume(1) // inside the first chunk
    expect(b.length).toBe(6)
    expect(str(b.read(0, 3))).toBe('bcd')
    b.consume(2) // exactly to the chunk boundary
    expect(b.length).toBe(4)
    expect(str(b.read(0, 4))).toBe('defg')
    b.consume(3) // into the last chunk
    expect(str(b.read(0, 10))).toBe('g')
    b.append(enc('hi'))
    expect(str(b.read(0, 3))).toBe('ghi')
  })

  it('clamps a consume beyond its length and can be refilled', () => {
    const b = new SendBuffer()
    b.append(enc('xyz'))
    b.consume(10)
    expect(b.length).toBe(0)
    b.append(enc('new'))
    expect(str(b.read(0, 3))).toBe('new')
  })

  it('clear() drops everything', () => {
    const b = new SendBuffer()
    b.append(enc('abc'))
    b.consume(1)
    b.clear()
    expect(b.length).toBe(0)
    b.append(enc('z'))
    expect(str(b.read(0, 1))).toBe('z')
  })

  type Op =
    | { op: 'append'; data: Uint8Array }
    | { op: 'consume'; n: number }
    | { op: 'read'; offset: number; len: number }

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('append' as const), data: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({ op: fc.constant('consume' as const), n: fc.nat(60) }),
    fc.record({ op: fc.constant('read' as const), offset: fc.nat(120), len: fc.nat(120) }),
  )

  it('behaves as one flat Buffer under any sequence of append, consume and read', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), ops => {
      const b = new SendBuffer()
      let model = Buffer.alloc(0)
      for (const o of ops) {
        if (o.op === 'append') {
          b.append(o.data)
          model = Buffer.concat([model, o.data])
        } else if (o.op === 'consume') {
          b.consume(o.n)
          model = model.subarray(Math.min(o.n, model.length))
        } else {
          const got = b.read(o.offset, o.len)
          const want = o.offset >= model.length ? Buffer.alloc(0) : model.subarray(o.offset, o.offset + o.len)
          expect(Buffer.from(got)).toEqual(want)
        }
        expect(b.length).toBe(model.length)
      }
      // Everything still held reads back whole.
      expect(Buffer.from(b.read(0, b.length))).toEqual(model)
    }), { numRuns: 1000 })
  })
})
