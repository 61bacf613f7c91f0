// tuntcp ss's table, from a stack's own connections in virtual time.
import { expect, it } from 'vitest'
import { formatSnapshot, timerColumn } from '../../src/bin/ss'
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
