// The connection table (src/stack/tcp/connection-table.ts): one connection per
// 4-tuple, found by (local port, remote address, remote port).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ConnectionTable } from '../../../src/stack/tcp/connection-table'

const conn = (localPort: number, remoteAddr: number, remotePort: number) => ({ localPort, remoteAddr, remotePort })

describe('ConnectionTable', () => {
  it('finds a connection by its 4-tuple and nothing else', () => {
    const t = new ConnectionTable<ReturnType<typeof conn>>()
    const a = conn(80, 0x0a000001, 40000)
    t.add(a)
    expect(t.get(80, 0x0a000001, 40000)).toBe(a)
    expect(t.get(80, 0x0a000001, 40001)).toBeUndefined()
    expect(t.get(81, 0x0a000001, 40000)).toBeUndefined()
    expect(t.get(80, 0x0a000002, 40000)).toBeUndefined()
    expect(t.get(40000, 0x0a000001, 80)).toBeUndefined() // the ports are not interchangeable
  })

  it('puts a new connection in the place of the old one with the same 4-tuple (a TCB entering TIME-WAIT)', () => {
    const t = new ConnectionTable<ReturnType<typeof conn>>()
    const tcb = conn(80, 1, 2)
    const entry = conn(80, 1, 2)
    t.add(tcb)
    t.add(entry)
    expect(t.size).toBe(1)
    expect(t.get(80, 1, 2)).toBe(entry)
    t.delete(tcb) // the old one is no longer there: nothing happens
    expect(t.get(80, 1, 2)).toBe(entry)
    t.delete(entry)
    expect(t.size).toBe(0)
    expect([...t]).toEqual([])
  })

  it('keeps ports from 32768 up apart (their packed key is negative) and addresses above 2^31', () => {
    const t = new ConnectionTable<ReturnType<typeof conn>>()
    const all = [conn(65535, 0xc0a80001, 65535), conn(32768, 0xc0a80001, 1), conn(1, 0xc0a80001, 32768), conn(65535, 0xffffffff, 0)]
    for (const c of all) t.add(c)
    expect(t.size).toBe(4)
    for (const c of all) expect(t.get(c.localPort, c.remoteAddr, c.remotePort)).toBe(c)
  })

  it('agrees with a Map keyed by the whole 4-tuple (property)', () => {
    const port = fc.integer({ min: 1, max: 65535 })
    const addr = fc.constantFrom(0x0a000001, 0x0a000002, 0xc0a80001, 0xfffffffe)
    const op = fc.tuple(fc.boolean(), port, addr, port)
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), ops => {
      const t = new ConnectionTable<ReturnType<typeof conn>>()
      const model = new Map<string, ReturnType<typeof conn>>()
      for (const [add, lp, ra, rp] of ops) {
        const key = `${lp} ${ra} ${rp}`
        if (add) {
          const c = conn(lp, ra, rp)
          t.add(c)
          model.set(key, c)
        } else {
          const c = model.get(key)
          if (c !== undefined) {
            t.delete(c)
            model.delete(key)
          }
        }
        expect(t.get(lp, ra, rp)).toBe(model.get(key))
      }
      expect(t.size).toBe(model.size)
      expect(new Set(t)).toEqual(new Set(model.values()))
    }))
  })
})
