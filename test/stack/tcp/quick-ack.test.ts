// Quick-ACK mode (config.quickAck, receive.ts; Linux's tcp_incr_quickack in net/ipv4/tcp_input.c):
// the first data segments of a connection are ACKed one by one, not every second one. Measured
// here as the virtual time a download takes over a 10 ms RTT, between two tuntcp stacks: the
// same with and without (80 ms for 1 MiB), because our sender counts the bytes an ACK covers
// (RFC 5681 3.1, RFC 3465), so an ACK per two segments opens cwnd as fast as one per segment;
// quick ACKs only cost up to 16 more ACKs. That is why they stay off by default (docs/options.md).
// The period after data sent again (config.quickAckOnDuplicate) is on by default: on a lossy
// path it tells the sender's loss recovery of every arrival (bench/lossy-sim.ts, docs/options.md).

import { describe, expect, it } from 'vitest'
import type { TcpConfig } from '../../../src/stack/tcp/config'
import { MAX_QUICK_ACKS } from '../../../src/stack/tcp/receive'
import { acceptedSender } from '../../helpers/packet-peer'
import { collect, twoStacks } from '../../helpers/two-stacks'
import { runFor, runUntil } from '../../helpers/virtual-time'

const MIB = 1024 * 1024

/** B serves 1 MiB; A downloads it over 5 ms each way. Returns the time it took (ms) and how many ACKs A sent. */
async function download(tcp: Partial<TcpConfig>, size = MIB): Promise<{ ms: number; acks: number }> {
  const { clock, a, b } = twoStacks({ tcp, faults: { delayMs: 5 } })
  b.createServer(s => s.end(Buffer.alloc(size, 7))).listen(80)
  let acks = 0
  a.on('segment', (dir: 'in' | 'out', { seg }: { seg: { payload: Uint8Array } }) => { if (dir === 'out' && seg.payload.length === 0) acks++ })
  const start = clock.now()
  const sock = a.connect({ host: '10.0.0.2', port: 80 })
  const got = collect(sock)
  await runUntil(clock, () => got.ended())
  expect(got.data().length).toBe(size)
  return { ms: clock.now() - start, acks }
}

describe('quick ACKs at the start of a connection (Linux tcp_input.c)', () => {
  for (const size of [16_000, 64 * 1024, MIB]) {
    it(`a ${size}-byte download over a 10 ms RTT: no sooner with them (our sender counts bytes), and at most 16 more ACKs`, async () => {
      const delayed = await download({ quickAck: false }, size)
      const quick = await download({ quickAck: true }, size)
      expect(quick.ms).toBe(delayed.ms)
      expect(quick.acks).toBeGreaterThan(delayed.acks)
      expect(quick.acks - delayed.acks).toBeLessThanOrEqual(MAX_QUICK_ACKS)
    })
  }

  it('ACKs each of the first 16 data segments at once, then delays the ACK again (40 ms)', async () => {
    const { clock, a, b } = twoStacks({ tcp: { quickAck: true } })
    b.createServer(s => s.resume()).listen(80)
    const sock = a.connect({ host: '10.0.0.2', port: 80 })
    await runUntil(clock, () => sock.state === 'ESTABLISHED')
    let acks = 0
    b.on('segment', (dir: 'in' | 'out', { seg }: { seg: { payload: Uint8Array } }) => { if (dir === 'out' && seg.payload.length === 0) acks++ })
    const ackedWithin = async (ms: number) => {
      const before = acks
      sock.write(Buffer.alloc(100))
      await runFor(clock, ms)
      const now = acks > before
      await runFor(clock, 100) // a pause well under the RTO: no new quick-ACK period
      return now
    }
    for (let i = 0; i < MAX_QUICK_ACKS; i++) expect(await ackedWithin(1)).toBe(true)
    expect(await ackedWithin(1)).toBe(false) // delayed now: it went at 40 ms
  })
})

describe('quick ACKs after data sent again (config.quickAckOnDuplicate, Linux tcp_send_dupack)', () => {
  it('by default: a segment we already had is ACKed at once, and so is each of the next in-order ones', async () => {
    const { p } = await acceptedSender()
    await p.send('P.', { seq: 1, ack: 1, data: 'a' })
    await p.run(40)
    p.expect('.', { ack: 2 }) // the first one: a delayed ACK (no quick ACKs at the start by default)
    await p.send('P.', { seq: 1, ack: 1, data: 'a' }) // again: our ACK may have been lost
    p.expect('.', { ack: 2 })
    for (let seq = 2; seq < 6; seq++) {
      await p.send('P.', { seq, ack: 1, data: 'b' })
      p.expect('.', { ack: seq + 1 }) // each at once, not after 40 ms
    }
    expect(p.stack.counters.delayedAcks).toBe(1)
  })

  it('off: after the duplicate, a lone segment waits for the delayed ACK again', async () => {
    const { p } = await acceptedSender({ tcp: { quickAckOnDuplicate: false } })
    await p.send('P.', { seq: 1, ack: 1, data: 'a' })
    await p.run(40)
    p.expect('.', { ack: 2 })
    await p.send('P.', { seq: 1, ack: 1, data: 'a' })
    p.expect('.', { ack: 2 }) // RFC 9293 3.10.7.4: an unacceptable segment is answered at once
    await p.send('P.', { seq: 2, ack: 1, data: 'b' })
    p.expectNothing()
    await p.run(40)
    p.expect('.', { ack: 3 })
    expect(p.stack.counters.delayedAcks).toBe(2)
  })
})
