// socket.info(): TCP_INFO as Linux's getsockopt gives it (tcp-info.ts), between
// two stacks 50 ms apart each way in virtual time, so every number is exact.
import { describe, expect, it } from 'vitest'
import type { Socket } from '../../src/stack/socket/socket'
import { LINUX_TCP_STATES, TCP_CA, TCPI_OPT } from '../../src/stack/tcp-info'
import { B, twoStacks } from '../helpers/two-stacks'
import { runFor, settle } from '../helpers/virtual-time'
import { acceptedSender } from '../helpers/packet-peer'

async function pair() {
  const net = twoStacks({ faults: { delayMs: 50 } })
  const accepted: Socket[] = []
  net.b.createServer(s => { accepted.push(s); s.resume() }).listen(7)
  const client = net.a.connect(7, B)
  await runFor(net.clock, 200)
  return { net, client, server: accepted[0]! }
}

describe('socket.info()', () => {
  it("shows the handshake's options, MSS, first RTT sample and initial window in Linux's units", async () => {
    const { client, server } = await pair()
    const c = client.info()
    expect(c).toMatchObject({
      state: LINUX_TCP_STATES.ESTABLISHED, ca_state: TCP_CA.Open,
      options: TCPI_OPT.TIMESTAMPS | TCPI_OPT.SACK | TCPI_OPT.WSCALE, snd_wscale: 6, rcv_wscale: 6,
      snd_mss: 1448, advmss: 1448, // 1460 less 12 bytes of timestamps, as Linux's mss_cache and advmss
      rtt: 100_000, rttvar: 50_000, rto: 300_000, ato: 40_000, // RFC 6298 2.2: SRTT = R, RTTVAR = R/2, µs
      snd_cwnd: 10, snd_ssthresh: 0x7fffffff, unacked: 0, retransmits: 0, total_retrans: 0, reordering: 3,
    })
    expect(server.info().state).toBe(LINUX_TCP_STATES.ESTABLISHED)
  })

  it('counts what is in flight in segments, then what was acknowledged and received in bytes', async () => {
    const { net, client, server } = await pair()
    client.write(Buffer.alloc(3000))
    await runFor(net.clock, 1)
    // Two full segments go; Nagle holds the last 104 bytes while they are unacknowledged (RFC 9293 3.7.4).
    expect(client.info()).toMatchObject({ unacked: 2, notsent_bytes: 104, last_data_sent: 1 })
    // The ACK of the two comes back at 100 ms and the 104 bytes go then, in 50 ms; their ACK is delayed 40 ms.
    await runFor(net.clock, 300)
    expect(client.info()).toMatchObject({ unacked: 0, bytes_acked: 3000, last_data_sent: 201 })
    // delivered: the SYN, then three segments of data (Linux's tp->delivered); the server's SYN,ACK was delivered too.
    expect(client.info().delivered).toBe(1 + 3)
    expect(server.info().delivered).toBe(1)
    expect(server.info()).toMatchObject({ bytes_received: 3000, last_data_recv: 151 })
  })

  it('counts segments and data segments each way, the peer MSS seen (rcv_mss), the minimum RTT and the path MTU', async () => {
    const { net, client, server } = await pair()
    // Before data: rcv_mss is Linux's first guess, min(advmss, mss, rcv_wnd / 2, 536).
    expect(server.info()).toMatchObject({ rcv_mss: 536, pmtu: 1500, min_rtt: 100_000 })
    // SYN, ACK of the SYN,ACK out; SYN,ACK in: the handshake's segments.
    expect(client.info()).toMatchObject({ segs_out: 2, segs_in: 1, data_segs_out: 0, data_segs_in: 0 })
    expect(server.info()).toMatchObject({ segs_out: 1, segs_in: 2 })
    client.write(Buffer.alloc(3000)) // 1448, 1448, then 104 after the first ACK
    await runFor(net.clock, 400)
    expect(client.info()).toMatchObject({ data_segs_out: 3, data_segs_in: 0 })
    expect(server.info()).toMatchObject({ data_segs_in: 3, rcv_mss: 1448, segs_in: 5 })
    expect(client.info().segs_out).toBe(5)
    expect(client.info().min_rtt).toBe(100_000)
  })

  it('counts a segment delivered once: when SACKed, not again when the cumulative ACK covers it', async () => {
    const { p, socket } = await acceptedSender({ sack: true })
    expect(socket.info().delivered).toBe(1) // our SYN,ACK
    socket.write(Buffer.alloc(3 * 1460))
    await settle()
    p.takeAll()
    await p.send('.', { seq: 1, ack: 1, options: { sackBlocks: [{ left: (p.iss! + 1461) >>> 0, right: (p.iss! + 4381) >>> 0 }] } })
    expect(socket.info().delivered).toBe(1 + 2)
    await p.send('.', { seq: 1, ack: 4381 })
    expect(socket.info().delivered).toBe(1 + 3)
  })

  it('follows the connection to its end: TIME-WAIT for the side that closed first, CLOSE for the other', async () => {
    const { net, client, server } = await pair()
    client.end()
    server.on('end', () => server.end())
    await runFor(net.clock, 500)
    expect(client.info().state).toBe(LINUX_TCP_STATES['TIME-WAIT'])
    expect(server.info().state).toBe(LINUX_TCP_STATES.CLOSED)
  })
})
