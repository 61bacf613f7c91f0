// The connection table (src/stack/tcp/connection-table.ts): one connection per
// 4-tuple, found by (local address, local port, remote address, remote port).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ConnectionTable } from '../../../src/stack/tcp/connection-table'

const L = 0x0a000002
const conn = (localPort: number, remoteAddr: number, remotePort: number, localAddr = L) => ({ localAddr, localPort, remoteAddr, remotePort })

describe('ConnectionTable', () => {
  it('finds a connection by its 4-tuple and nothing else', () => {
    const t = new ConnectionTable<ReturnType<typeof conn>>()
    const a = conn(80, 0x0a000001, 40000)
    t.add(a)
    expect(t.get(L, 80, 0x0a000001, 40000)).toBe(a)
    expect(t.get(L, 80, 0x0a000001, 40001)).toBeUndefined()
    expect(t.get(L, 81, 0x0a000001, 40000)).toBeUndefined()
    expect(t.get(L, 80, 0x0a000002, 40000)).toBeUndefined()
    expect(t.get(L, 40000, 0x0a000001, 80)).toBeUndefined() // the ports are not interchangeable
    expect(t.get(0x08080808, 80, 0x0a000001, 40000)).toBeUndefined() // nor another local address
  })

  it('keeps apart connections that differ only in the local address (any-destination mode)', () => {
    const t = new ConnectionTable<ReturnType<typeof conn>>()
    const one = conn(80, 0x0a000001, 40000, 0x08080808)
    const two = conn(80, 0x0a000001, 40000, 0x01010101)
    t.add(one)
    t.add(two)
    expect(t.size).toBe(2)
    expect(t.get(0x08080808, 80, 0x0a000001, 40000)).toBe(one)
    expect(t.get(0x01010101, 80, 0x0a000001, 40000)).toBe(two)
    t.delete(one)
    expect([...t]).toEqual([two])
  })

  it('puts a new connection in the place of the old one with the same 4-tuple (a TCB entering TIME-WAIT)', () => {
    const t = new ConnectionTable<ReturnType<typeof conn>>()
    const tcb = conn(80, 1, 2)
    const entry = conn(80, 1, 2)
    t.add(tcb)
    t.add(entry)
    expect(t.size).toBe(1)
    expect(t.get(L, 80, 1, 2)).toBe(entry)
    t.delete(tcb) // the old one is no longer there: nothing happens
    expect(t.get(L, 80, 1, 2)).toBe(entry)
    t.delete(entry)
    expect(t.size).toBe(0)
    expect([...t]).toEqual([])
  })

  it('keeps ports from 32768 up apart (their packed key is negative) and addresses above 2^31', () => {
    const t = new ConnectionTable<ReturnType<typeof conn>>()
    const all = [conn(65535, 0xc0a80001, 65535), conn(32768, 0xc0a80001, 1), conn(1, 0xc0a80001, 32768), conn(65535, 0xffffffff, 0)]
    for (const c of all) t.add(c)
    expect(t.size).toBe(4)
    for (const c of all) expect(t.get(c.localAddr, c.localPort, c.remoteAddr, c.remotePort)).toBe(c)
  })

  it('agrees with a Map keyed by the whole 4-tuple (property)', () => {
    const port = fc.integer({ min: 1, max: 65535 })
    const addr = fc.constantFrom(0x0a000001, 0x0a000002, 0xc0a80001, 0xfffffffe)
    const op = fc.tuple(fc.boolean(), port, addr, port, fc.constantFrom(L, 0x08080808))
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), ops => {
      const t = new ConnectionTable<ReturnType<typeof conn>>()
      const model = new Map<string, ReturnType<typeof conn>>()
      for (const [add, lp, ra, rp, la] of ops) {
        const key = `${la} ${lp} ${ra} ${rp}`
        if (add) {
          const c = conn(lp, ra, rp, la)
          t.add(c)
          model.set(key, c)
        } else {
          const c = model.get(key)
          if (c !== undefined) {
            t.delete(c)
            model.delete(key)
          }
        }
        expect(t.get(la, lp, ra, rp)).toBe(model.get(key))
      }
      expect(t.size).toBe(model.size)
      expect(new Set(t)).toEqual(new Set(model.values()))
    }))
  })
})
