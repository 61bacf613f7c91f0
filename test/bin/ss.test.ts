// tuntcp ss's table, from a stack's own connections in virtual time.
import { expect, it } from 'vitest'
import { formatSnapshot, infoLine, timerColumn } from '../../src/bin/ss'
import { B, twoStacks } from '../helpers/two-stacks'
import { runUntil } from '../helpers/virtual-time'

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

it('shows the retransmission timer and its count while data is unacknowledged', async () => {
  const net = twoStacks()
  net.b.createServer(() => {}).listen(9)
  const sock = net.a.connect({ host: B, port: 9 })
  await runUntil(net.clock, () => sock.state === 'ESTABLISHED')
  net.linkA.onSend = () => false // the wire goes dead
  sock.write('lost')
  await runUntil(net.clock, () => net.a.connections()[0]!.retransmits === 2)
  const [conn] = net.a.connections()
  expect(conn!.timer?.name).toBe('on')
  // RTO 200 ms (the floor, after a near-zero RTT), doubled twice (RFC 6298 5.5)
  expect(timerColumn(conn!)).toBe('timer:(on,800ms,2)')
  expect(conn!.sendQueue).toBe(4)
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

it('with --info, prints under each connection what ss -ti shows: ts, sack, wscale, mss, rtt', async () => {
  const net = twoStacks()
  net.b.createServer(s => s.write('hi')).listen(7)
  const sock = net.a.connect({ host: B, port: 7 })
  sock.resume()
  await runUntil(net.clock, () => net.b.connections()[0]?.state === 'ESTABLISHED' && net.b.connections()[0]!.sendQueue === 0)
  const [conn] = net.b.connections()
  expect(infoLine(conn!)).toMatch(/^ts sack wscale:6,6 mss:1448 rtt:\d+\.\dms$/)
  const lines = formatSnapshot({ address: B, device: 'tun9', connections: net.b.connections(), counters: net.b.counters.toJSON() }, true).split('\n')
  expect(lines[1]).toMatch(/^ESTABLISHED /)
  expect(lines[2]).toBe(`\t ${infoLine(conn!)}`)
})
