// tuntcp ss's table, from a stack's own connections in virtual time.
import { expect, it } from 'vitest'
import { formatSnapshot, infoLine, timerColumn } from '../../src/bin/ss'
import { B, twoStacks } from '../helpers/two-stacks'
import { PacketPeer } from '../helpers/packet-peer'
import type { SynRequest } from '../../src/stack/socket/syn-request'
import { runUntil, settle } from '../helpers/virtual-time'

it('lists state, queues, addresses and the active timer like ss -tan -o', async () => {
  const net = twoStacks()
  net.b.createServer(s => s.end('bye')).listen(13)
  const sock = net.a.connect({ host: B, port: 13 })
  sock.resume()
  await runUntil(net.clock, () => net.b.connections()[0]?.state === 'TIME-WAIT')
  net.clock.advanceTo(net.clock.now() + 1500)
  const [conn] = net.b.connections()
  expect(conn!.timer).toEqual({ name: 'timewait', leftMs: 58_500 })
  expect(timerColumn(conn!)).toBe('timer:(timewait,59s,0)')
  const text = formatSnapshot({ address: B, device: 'tun9', connections: net.b.connections(), counters: net.b.counters.toJSON() })
  const lines = text.split('\n')
  expect(lines[0]).toMatch(/^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port +Timer$/)
  expect(lines[1]).toMatch(new RegExp(`^TIME-WAIT +0 +0 +10\\.0\\.0\\.2:13 +10\\.0\\.0\\.1:${sock.localPort} +timer:\\(timewait,59s,0\\)$`))
  expect(lines.at(-1)).toMatch(/^1 connection on tun9 \(10\.0\.0\.2\); packets in \d+, out \d+; segments in \d+, out \d+; retransmitted 0; dropped 0$/)
})

it('lists a forwarded connection (any-destination mode) with both ends as they are: the local end is the address the client meant', async () => {
  const net = twoStacks({ promiscuous: true })
  net.b.on('syn', (syn: SynRequest) => void syn.accept().then(s => s.on('error', () => {})))
  const sock = net.a.connect({ host: '198.51.100.7', port: 443, localPort: 40000 })
  await runUntil(net.clock, () => sock.state === 'ESTABLISHED')
  const text = formatSnapshot({ address: B, device: 'tun9', connections: net.b.connections(), counters: net.b.counters.toJSON() })
  expect(text.split('\n')[1]).toMatch(/^ESTABLISHED +0 +0 +198\.51\.100\.7:443 +10\.0\.0\.1:40000/)
  sock.resetAndDestroy()
  await settle()
})

it('shows the retransmission timer, the retransmissions now and in all, and ssthresh once a loss has set it', async () => {
  const net = twoStacks()
  net.b.createServer(s => s.resume()).listen(9)
  const sock = net.a.connect({ host: B, port: 9 })
  await runUntil(net.clock, () => sock.state === 'ESTABLISHED')
  net.linkA.onSend = () => false // the wire goes dead
  sock.write('lost')
  await runUntil(net.clock, () => net.a.connections()[0]!.retransmits === 2)
  let [conn] = net.a.connections()
  expect(conn!.timer?.name).toBe('on')
  // RTO 200 ms (the floor, after a near-zero RTT), doubled twice (RFC 6298 5.5)
  expect(timerColumn(conn!)).toBe('timer:(on,800ms,2)')
  expect(conn!.sendQueue).toBe(4)
  // After a timeout cwnd is one segment, ssthresh two (RFC 5681 3.1: max(FlightSize / 2, 2*SMSS)).
  // In all three: a tail loss probe went first, at the RTO since PTO is capped there (RFC 8985 7.2).
  expect(infoLine(conn!)).toMatch(/ rto:800 .* cwnd:1 ssthresh:2 bytes_acked:0 bytes_received:0 segs_out:\d+ segs_in:1 delivered:1 retrans:2\/3 minrtt:\d+(\.\d+)?$/)
  net.linkA.onSend = null // and comes back: the next timeout's retransmission gets through
  await runUntil(net.clock, () => net.a.connections()[0]!.sendQueue === 0)
  ;[conn] = net.a.connections()
  expect(infoLine(conn!)).toMatch(/ rto:200 .* bytes_acked:4 bytes_received:0 segs_out:\d+ segs_in:2 delivered:2 retrans:0\/4 minrtt:\d+(\.\d+)?$/)
  expect(conn!.totalRetransmits).toBe(net.a.counters.retransmissions)
})

it('with workers, names the worker owning each connection and gives a line per worker', async () => {
  const net = twoStacks()
  net.b.createServer(s => s.pipe(s)).listen(7)
  const sock = net.a.connect({ host: B, port: 7 })
  await runUntil(net.clock, () => net.b.connections()[0]?.state === 'ESTABLISHED')
  const counters = net.b.counters.toJSON()
  const idle = { ...counters, passiveOpens: 0, packetsIn: 0, packetsOut: 0, segmentsIn: 0, segmentsOut: 0, drops: {} }
  const text = formatSnapshot({
    address: B, device: 'tun9', counters,
    connections: net.b.connections().map(c => ({ ...c, worker: 1 })),
    workers: [{ worker: 0, connections: 0, counters: idle }, { worker: 1, connections: 1, counters }],
  })
  const lines = text.split('\n')
  expect(lines[0]).toMatch(/^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port +Worker +Timer$/)
  expect(lines[1]).toMatch(new RegExp(`^ESTABLISHED +0 +0 +10\\.0\\.0\\.2:7 +10\\.0\\.0\\.1:${sock.localPort} +1`))
  expect(lines.at(-2)).toMatch(/^ {2}worker 0: 0 connections, passive opens 0; packets in 0, out 0;/)
  expect(lines.at(-1)).toMatch(/^ {2}worker 1: 1 connection, passive opens 1; packets in \d+, out \d+;/)
})

it('with --info, prints under each connection what ss -ti shows, in its order', async () => {
  const net = twoStacks()
  net.b.createServer(s => { s.write('hi'); s.resume() }).listen(7)
  const sock = net.a.connect({ host: B, port: 7 })
  sock.resume()
  await runUntil(net.clock, () => net.b.connections()[0]?.state === 'ESTABLISHED' && net.b.connections()[0]!.sendQueue === 0)
  sock.write(Buffer.alloc(1000))
  await runUntil(net.clock, () => net.a.connections()[0]!.sendQueue === 0)
  const [conn] = net.b.connections()
  // No loss yet: no ssthresh (still "arbitrarily high", RFC 5681 3.1); the initial window of RFC 6928.
  expect(infoLine(conn!)).toMatch(/^ts sack cubic wscale:6,6 rto:\d+(\.\d+)? rtt:\d+(\.\d+)?\/\d+(\.\d+)? mss:1448 pmtu:1500 rcvmss:1000 cwnd:10 bytes_acked:2 bytes_received:1000 segs_out:3 segs_in:4 delivered:2 retrans:0\/0 minrtt:\d+(\.\d+)?$/)
  expect(infoLine(net.a.connections()[0]!)).toMatch(/ mss:1448 pmtu:1500 rcvmss:\d+ cwnd:10 bytes_acked:1000 bytes_received:2 segs_out:\d+ segs_in:\d+ delivered:2 retrans:0\/0 minrtt:\d+(\.\d+)?$/)
  const lines = formatSnapshot({ address: B, device: 'tun9', connections: net.b.connections(), counters: net.b.counters.toJSON() }, true).split('\n')
  expect(lines[1]).toMatch(/^ESTABLISHED /)
  expect(lines[2]).toBe(`\t ${infoLine(conn!)}`)
})

it('carries every ss -ti field in the JSON snapshot', async () => {
  const net = twoStacks()
  net.b.createServer(s => s.end('bye')).listen(13)
  const sock = net.a.connect({ host: B, port: 13, allowHalfOpen: true }) // stays in CLOSE-WAIT until it ends too
  sock.resume()
  await runUntil(net.clock, () => net.a.connections()[0]?.state === 'CLOSE-WAIT')
  const [row] = JSON.parse(JSON.stringify(net.a.connections())) as Array<Record<string, unknown>>
  expect(row).toMatchObject({
    congestionControl: 'cubic', cwnd: 14_480, ssthresh: null, mss: 1448,
    rttMs: expect.any(Number), rttvarMs: expect.any(Number), rtoMs: 200,
    bytesAcked: 0, bytesReceived: 3, retransmits: 0, totalRetransmits: 0, // the FIN is no data byte
    pmtu: 1500, rcvMss: 536, segsOut: expect.any(Number), segsIn: expect.any(Number), delivered: 1, minRttMs: expect.any(Number),
  })
  // TIME-WAIT keeps no window and no counts: only its options are left to show.
  sock.end()
  await runUntil(net.clock, () => net.b.connections()[0]?.state === 'TIME-WAIT')
  expect(infoLine(net.b.connections()[0]!)).toBe('ts')
})

it('counts bytes received across the 2^32 wrap of the sequence space', async () => {
  const p = new PacketPeer()
  p.stack.createServer(s => s.resume()).listen(80)
  await settle()
  // The peer's ISN 16 bytes below 2^32 (PacketPeer's sequence numbers are relative to 0x70000000).
  const isn = 0x1_0000_0000 - 16 - 0x7000_0000
  await p.send('S', { seq: isn, options: { mss: 1460 } })
  p.expect('S.')
  await p.send('.', { seq: isn + 1, ack: 1 })
  await p.send('P.', { seq: isn + 1, ack: 1, data: 'x'.repeat(100) }) // RCV.NXT wraps past 0 in here
  await p.send('F.', { seq: isn + 101, ack: 1 })
  const [conn] = p.stack.connections()
  expect(conn!.bytesReceived).toBe(100)
})

it('lists what tuntcp forward carries: each connection and flow with the client\'s ends and the upstream socket\'s', () => {
  const text = formatSnapshot({
    address: '10.0.2.2', device: 'tun9', connections: [], counters: twoStacks().a.counters.toJSON(),
    forwarded: {
      upstream: 'direct',
      connections: [{ phase: 'open', client: { address: '10.0.2.100', port: 40000 }, destination: { address: '198.51.100.7', port: 80 },
        upstreamLocal: { address: '10.201.0.1', port: 51234 }, upstreamRemote: { address: '198.51.100.7', port: 80 } },
      { phase: 'connecting', client: { address: 'fd00::100', port: 40002 }, destination: { address: '2001:db8::7', port: 443 },
        upstreamLocal: null, upstreamRemote: null }],
      flows: [{ client: { address: '10.0.2.100', port: 5000 }, destination: { address: '198.51.100.7', port: 53 },
        upstreamLocal: { address: '0.0.0.0', port: 41000 }, upstreamRemote: { address: '198.51.100.7', port: 53 }, datagramsUp: 2, datagramsDown: 1 }],
      counters: {},
    },
  })
  const lines = text.split('\n')
  const at = lines.indexOf('forwarded through direct: 2 TCP, 1 UDP')
  expect(at).toBeGreaterThan(0)
  expect(lines[at + 1]).toMatch(/^Proto +Client +Destination +Upstream Local +Upstream Peer +State$/)
  expect(lines[at + 2]).toMatch(/^tcp +10\.0\.2\.100:40000 +198\.51\.100\.7:80 +10\.201\.0\.1:51234 +198\.51\.100\.7:80 +open$/)
  expect(lines[at + 3]).toMatch(/^tcp +\[fd00::100\]:40002 +\[2001:db8::7\]:443 +- +- +connecting$/)
  expect(lines[at + 4]).toMatch(/^udp +10\.0\.2\.100:5000 +198\.51\.100\.7:53 +0\.0\.0\.0:41000 +198\.51\.100\.7:53 +2 up, 1 down$/)
})
