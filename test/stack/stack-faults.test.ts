// StackOptions.faults: the stack's own outbound path loses, duplicates, reorders,
// delays and corrupts what it sends, by seeded coin flips; TCP still delivers every byte.

import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DROP_REASONS } from '../../src/stack/wire/drop'
import { B, collect, twoStacks } from '../helpers/two-stacks'
import { runUntil } from '../helpers/virtual-time'

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

async function transfer(seed: number) {
  const faults = { loss: 0.05, duplicate: 0.05, reorder: 0.1, reorderMs: 15, delayMs: 2, jitterMs: 3, corrupt: 0.02 }
  const net = twoStacks({ faults, mslMs: 1000 }, seed)
  const data = Buffer.alloc(200_000)
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed) & 0xff
  let got: ReturnType<typeof collect> | null = null
  net.b.createServer(s => {
    got = collect(s)
    s.on('end', () => s.end())
  }).listen(9)
  const sock = net.a.connect({ host: B, port: 9 })
  sock.resume()
  sock.end(data)
  await runUntil(net.clock, () => got !== null && got.ended() && net.a.connections().length === 0 && net.b.connections().length === 0)
  return { net, data, received: got!.data() }
}

describe('StackOptions.faults', () => {
  it('is absent, and costs nothing, unless asked for', () => {
    const net = twoStacks()
    expect(net.a.faults).toBeNull()
  })

  it('loses, duplicates, reorders and corrupts outbound packets, and every byte still arrives', async () => {
    const { net, data, received } = await transfer(4)
    expect(sha(received)).toBe(sha(data))
    const c = net.a.faults!.counters
    expect(c.lost).toBeGreaterThan(0)
    expect(c.duplicated).toBeGreaterThan(0)
    expect(c.reordered).toBeGreaterThan(0)
    expect(c.corrupted).toBeGreaterThan(0)
    // The receiver dropped each corrupted packet at a checksum (or length) check.
    let wireDrops = 0
    for (const r of DROP_REASONS) wireDrops += net.b.counters.drops[r] ?? 0
    expect(wireDrops).toBe(c.corrupted)
    expect(net.a.counters.drops['internal-error']).toBeUndefined()
    expect(net.b.counters.drops['internal-error']).toBeUndefined()
  })

  it('makes the same decisions for the same seed', async () => {
    const one = await transfer(8)
    const two = await transfer(8)
    expect(two.net.a.faults!.counters).toEqual(one.net.a.faults!.counters)
    expect(two.net.clock.now()).toBe(one.net.clock.now())
  })

  it('uses its own seed when given one, apart from the stack random source', () => {
    const a = twoStacks({ faults: { loss: 0.5, seed: 1 } }, 1).a
    const b = twoStacks({ faults: { loss: 0.5, seed: 1 } }, 2).a
    const pkt = new Uint8Array(40)
    const fates = (s: typeof a) => Array.from({ length: 64 }, () => s.faults!.apply(pkt).length)
    expect(fates(b)).toEqual(fates(a))
  })
})
