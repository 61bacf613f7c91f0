// ECN between two stacks in virtual time (RFC 3168, tcp/ecn.ts, recovery/cwr.ts): the setup
// for each pair of settings, and a congested router that marks CE instead of dropping: the
// sender cuts cwnd, resends nothing, and every byte arrives. The scripts test/scripts/ecn-*.pkt
// show each rule segment by segment.
import { describe, expect, it } from 'vitest'
import { checksum } from '../../../src/stack/wire/checksum'
import { TCPI_OPT } from '../../../src/stack/tcp-info'
import { B, collect, twoStacks } from '../../helpers/two-stacks'
import { runFor, runUntil } from '../../helpers/virtual-time'

/** Client A with tcp_ecn `a`, server B with `b`: is ECN on, on each end? */
async function negotiated(a: 0 | 1 | 2, b: 0 | 1 | 2): Promise<[boolean, boolean]> {
  const net = twoStacks()
  net.a.tcpConfig.ecn = a
  net.b.tcpConfig.ecn = b
  let server: { info(): { options: number } } | undefined
  net.b.createServer(s => { server = s }).listen(7)
  const client = net.a.connect(7, B)
  await runFor(net.clock, 100)
  return [(client.info().options & TCPI_OPT.ECN) !== 0, (server!.info().options & TCPI_OPT.ECN) !== 0]
}

/** A packet's ECN field set to CE, its IPv4 header checksum made again. */
function markCe(packet: Uint8Array): void {
  packet[1] = packet[1]! | 3
  packet[10] = 0
  packet[11] = 0
  const sum = checksum(packet, 0, (packet[0]! & 0x0f) * 4)
  packet[10] = sum >>> 8
  packet[11] = sum & 0xff
}

describe('ECN setup (RFC 3168 6.1.1)', () => {
  it('is on only when the client asks (1) and the server agrees (1 or 2)', async () => {
    expect(await negotiated(1, 2)).toEqual([true, true])
    expect(await negotiated(1, 1)).toEqual([true, true])
    expect(await negotiated(1, 0)).toEqual([false, false])
    expect(await negotiated(2, 2)).toEqual([false, false]) // the default: nobody asks
    expect(await negotiated(0, 1)).toEqual([false, false])
  })
})

describe('a router marking CE instead of dropping (RFC 3168 6.1.2, 6.1.3)', () => {
  it('the receiver echoes, the sender cuts cwnd without a retransmission, and the data arrives whole', async () => {
    const net = twoStacks({ faults: { delayMs: 10 } })
    net.a.tcpConfig.ecn = 1
    let got: ReturnType<typeof collect> | undefined
    net.b.createServer(s => { got = collect(s) }).listen(9)
    const client = net.a.connect(9, B)
    await runFor(net.clock, 100)
    // Every 20th ECT data packet from A is marked CE on its way, as a queue past its threshold would.
    let n = 0
    net.linkA.onSend = packet => {
      if ((packet[1]! & 3) === 2 && ++n % 20 === 0) markCe(packet)
    }
    const data = Buffer.alloc(2_000_000, 7)
    client.end(data)
    await runUntil(net.clock, () => got?.ended() === true, 60_000)
    expect(got!.data().equals(data)).toBe(true)
    expect(net.b.counters.ecnCeReceived).toBeGreaterThan(0)
    expect(net.a.counters.ecnReductions).toBeGreaterThan(0)
    // Once per window: fewer cuts than marks, and nothing was resent for them.
    expect(net.a.counters.ecnReductions).toBeLessThanOrEqual(net.b.counters.ecnCeReceived)
    expect(net.a.counters.retransmissions).toBe(0)
  })
})
