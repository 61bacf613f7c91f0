// What `tuntcp connect` says while it opens: where from and to, and when the peer is silent.
import { expect, it } from 'vitest'
import { reportOpening } from '../../src/bin/connect'
import { A, B, twoStacks } from '../helpers/two-stacks'
import { runFor, runUntil } from '../helpers/virtual-time'

it('says it is connecting, then after the second SYN retransmission (3 s) that the peer is not answering', async () => {
  const net = twoStacks()
  net.linkA.onSend = () => false // nothing reaches the peer: no SYN,ACK, no RST
  const lines: string[] = []
  const sock = net.a.connect({ host: B, port: 9000 })
  sock.on('error', () => {})
  reportOpening(net.a, sock, B, 9000, line => lines.push(line))
  expect(lines).toEqual([`tuntcp: connecting to ${B}:9000 from ${A}:${sock.localPort}`])
  const start = net.clock.now()
  await runFor(net.clock, 2_900) // one retransmission, at 1 s (RFC 6298 2.1): not yet
  expect(lines).toHaveLength(1)
  await runUntil(net.clock, () => lines.length === 2) // the second, at 1 + 2 s
  expect(net.clock.now() - start).toBe(3_000)
  expect(lines[1]).toBe(`tuntcp: ${B}:9000 is not answering (SYN sent 3 times); still waiting`)
  expect(sock.state).toBe('SYN-SENT')
  // Said once: the later retransmissions add nothing, and the stack stops tracing for it.
  await runFor(net.clock, 30_000)
  expect(lines).toHaveLength(2)
  expect(net.a.listenerCount('segment')).toBe(0)
})

it('says only that it is connecting when the peer answers, and stops watching', async () => {
  const net = twoStacks()
  net.b.createServer(s => s.resume()).listen(9000)
  const lines: string[] = []
  const sock = net.a.connect({ host: B, port: 9000 })
  reportOpening(net.a, sock, B, 9000, line => lines.push(line))
  await runUntil(net.clock, () => sock.state === 'ESTABLISHED')
  expect(lines).toEqual([`tuntcp: connecting to ${B}:9000 from ${A}:${sock.localPort}`])
  expect(net.a.listenerCount('segment')).toBe(0)
})

it('stops watching when the connection fails before the warning', async () => {
  const net = twoStacks()
  const lines: string[] = []
  const sock = net.a.connect({ host: B, port: 9001 }) // nobody listens: refused at once
  sock.on('error', () => {})
  reportOpening(net.a, sock, B, 9001, line => lines.push(line))
  await runUntil(net.clock, () => sock.destroyed)
  await runFor(net.clock, 10_000)
  expect(lines).toHaveLength(1)
  expect(net.a.listenerCount('segment')).toBe(0)
})
