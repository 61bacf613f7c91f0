// FaultyLink: the fault model wrapped around any Link, both directions, with the
// waiting done by a scheduler (real time by default, a fake one here).

import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../src/stack/random'
import { buildTcpPacket } from '../../src/stack/wire/tcp'
import { FaultyLink, type Scheduler } from '../../src/tun/faulty-link'
import type { Link, PacketHandler } from '../../src/tun/link'

/** A Link that records what is sent and lets the test deliver packets to it. */
class RecordingLink implements Link {
  readonly mtu = 1500
  readonly sent: { packet: Uint8Array; segmentSize?: number }[] = []
  handler: PacketHandler | null = null
  closed = false
  send(packet: Uint8Array, segmentSize?: number): void { this.sent.push({ packet, segmentSize }) }
  onReceive(handler: PacketHandler | null): void { this.handler = handler }
  close(): void { this.closed = true }
}

/** A scheduler that runs nothing until the test says so. */
function manualScheduler() {
  const pending: { delayMs: number; fn: () => void }[] = []
  const schedule: Scheduler = (delayMs, fn) => { pending.push({ delayMs, fn }) }
  return { schedule, pending, runAll: () => { for (const p of pending.splice(0)) p.fn() } }
}

const packet = buildTcpPacket({ src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 0x10, window: 100 })

describe('FaultyLink', () => {
  it('passes packets both ways untouched without profiles', () => {
    const inner = new RecordingLink()
    const link = new FaultyLink(inner, { seed: 1 })
    const got: Uint8Array[] = []
    link.onReceive(p => got.push(p))
    link.send(packet, 1460)
    inner.handler!(packet)
    expect(inner.sent).toEqual([{ packet, segmentSize: 1460 }])
    expect(got).toEqual([packet])
    expect(link.mtu).toBe(1500)
  })

  it('loses every outbound packet with loss 1 and duplicates every inbound one with duplicate 1', () => {
    const inner = new RecordingLink()
    const link = new FaultyLink(inner, { seed: 1, outbound: { loss: 1 }, inbound: { duplicate: 1 } })
    const got: Uint8Array[] = []
    link.onReceive(p => got.push(p))
    for (let i = 0; i < 10; i++) link.send(packet)
    inner.handler!(packet)
    expect(inner.sent).toEqual([])
    expect(link.outbound!.counters.lost).toBe(10)
    expect(got.length).toBe(2)
  })

  it('holds delayed packets back as copies until the scheduler runs them, and not after close', () => {
    const inner = new RecordingLink()
    const clock = manualScheduler()
    const link = new FaultyLink(inner, { seed: 1, outbound: { delayMs: 5 }, schedule: clock.schedule })
    const buf = packet.slice()
    link.send(buf)
    buf.fill(0) // the sender reuses its buffer
    expect(inner.sent).toEqual([])
    expect(clock.pending.map(p => p.delayMs)).toEqual([5])
    clock.runAll()
    expect(inner.sent.map(s => s.packet)).toEqual([packet])
    link.send(packet)
    link.close()
    clock.runAll()
    expect(inner.sent.length).toBe(1)
    expect(inner.closed).toBe(true)
  })

  it('turns corruption into loss for packets whose checksum the device finishes or vouches for', () => {
    const inner = new RecordingLink()
    const link = new FaultyLink(inner, { random: new SeededRandom(3), outbound: { corrupt: 1 }, inbound: { corrupt: 1 } })
    const got: Uint8Array[] = []
    link.onReceive(p => got.push(p))
    link.send(packet, 1460) // segmentSize: the TCP checksum is partial
    inner.handler!(packet, true) // checksumTrusted: nobody checks it again
    expect(inner.sent).toEqual([])
    expect(got).toEqual([])
    link.send(packet)
    inner.handler!(packet)
    expect(inner.sent.length).toBe(1)
    expect(inner.sent[0]!.packet).not.toEqual(packet)
    expect(got.length).toBe(1)
    expect(got[0]).not.toEqual(packet)
  })
})
