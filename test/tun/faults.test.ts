// The fault model: seeded coin flips per packet, close to the asked probabilities,
// the same decisions for the same seed, and a corruption that a checksum always catches.

import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../src/stack/random'
import { parseIPv4 } from '../../src/stack/wire/ipv4'
import { buildTcpPacket, parseTcp } from '../../src/stack/wire/tcp'
import { FaultModel, flipRandomBit, type FaultProfile } from '../../src/tun/faults'

const packet = buildTcpPacket({
  src: 0x0a000001, dst: 0x0a000002, srcPort: 40000, dstPort: 80, seq: 1, ack: 1,
  flags: 0x18, window: 65535, payload: new Uint8Array(100).fill(7),
})

function run(profile: FaultProfile, seed: number, n: number) {
  const model = new FaultModel(profile, new SeededRandom(seed))
  const out: { packet: Uint8Array; delayMs: number }[][] = []
  for (let i = 0; i < n; i++) out.push(model.apply(packet))
  return { model, out }
}

describe('FaultModel', () => {
  it('passes every packet untouched and at once with an empty profile', () => {
    const { model, out } = run({}, 1, 100)
    for (const d of out) expect(d).toEqual([{ packet, delayMs: 0 }])
    expect(model.counters).toEqual({ packets: 100, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, corruptedAsLost: 0 })
  })

  it('loses, duplicates, reorders and corrupts at about the asked rates', () => {
    const { model } = run({ loss: 0.1, duplicate: 0.05, reorder: 0.2, corrupt: 0.02 }, 7, 20_000)
    const c = model.counters
    expect(c.lost / 20_000).toBeCloseTo(0.1, 1)
    const kept = 20_000 - c.lost
    expect(c.duplicated / kept).toBeCloseTo(0.05, 1)
    expect(c.reordered / (kept + c.duplicated)).toBeCloseTo(0.2, 1)
    expect(c.corrupted / (kept + c.duplicated)).toBeCloseTo(0.02, 1)
  })

  it('makes the same decisions for the same seed, and different ones for another', () => {
    const profile = { loss: 0.3, duplicate: 0.3, jitterMs: 5, reorder: 0.3, corrupt: 0.3 }
    const a = run(profile, 99, 500).out
    expect(run(profile, 99, 500).out).toEqual(a)
    expect(run(profile, 100, 500).out).not.toEqual(a)
  })

  it('delays by delayMs plus [0, jitterMs), and a reordered packet by reorderMs more', () => {
    const { out } = run({ delayMs: 10, jitterMs: 4, reorder: 0.5, reorderMs: 30 }, 3, 1000)
    let held = 0
    for (const [d] of out) {
      const base = d!.delayMs >= 40 ? (held++, 40) : 10
      expect(d!.delayMs).toBeGreaterThanOrEqual(base)
      expect(d!.delayMs).toBeLessThan(base + 4)
    }
    expect(held).toBeGreaterThan(400)
    expect(held).toBeLessThan(600)
  })

  it('corrupts a copy, flipping exactly one bit, and never the original', () => {
    const original = packet.slice()
    const { out } = run({ corrupt: 1 }, 5, 200)
    for (const [d] of out) {
      expect(d!.packet).not.toBe(packet)
      let bits = 0
      for (let i = 0; i < packet.length; i++) {
        let x = d!.packet[i]! ^ packet[i]!
        while (x) { bits += x & 1; x >>= 1 }
      }
      expect(bits).toBe(1)
    }
    expect(packet).toEqual(original)
  })

  it('a flipped bit is always caught by the IPv4 or TCP checks (RFC 1071: one bit changes the sum)', () => {
    const r = new SeededRandom(11)
    for (let i = 0; i < 2000; i++) {
      const bad = flipRandomBit(packet, r)
      const ip = parseIPv4(bad)
      if (!ip.ok) continue
      const tcp = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
      expect(tcp.ok).toBe(false)
    }
  })

  it('turns corruption into loss when the checksum is left to the device (offload)', () => {
    const model = new FaultModel({ corrupt: 1 }, new SeededRandom(1))
    expect(model.apply(packet, true)).toEqual([])
    expect(model.counters.corruptedAsLost).toBe(1)
    expect(model.counters.corrupted).toBe(0)
  })

  it('refuses probabilities outside [0, 1] and negative times', () => {
    expect(() => new FaultModel({ loss: -0.1 }, new SeededRandom(1))).toThrow('fault loss must be a probability in [0, 1], got -0.1')
    expect(() => new FaultModel({ corrupt: 2 }, new SeededRandom(1))).toThrow(RangeError)
    expect(() => new FaultModel({ delayMs: -1 }, new SeededRandom(1))).toThrow('fault delayMs must be a time >= 0 ms, got -1')
  })
})
