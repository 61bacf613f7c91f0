// --trace lines for a whole connection between two stacks in virtual time.
import { expect, it } from 'vitest'
import { Tracer } from '../../src/bin/trace'
import { B, twoStacks } from '../helpers/two-stacks'
import { PacketPeer } from '../helpers/packet-peer'
import { settle } from '../helpers/virtual-time'
import { runFor, runUntil } from '../helpers/virtual-time'

it('prints each segment with relative and absolute numbers, and each state change with its cause', async () => {
  const net = twoStacks()
  const lines: string[] = []
  new Tracer(net.b, line => lines.push(line))
  net.b.createServer(s => s.end('hi')).listen(13)
  const sock = net.a.connect({ host: B, port: 13 })
  sock.resume()
  await runUntil(net.clock, () => sock.state === 'CLOSED')
  await runFor(net.clock, 1)
  const text = lines.join('\n')
  expect(lines[0]).toMatch(/^ +0\.\d{6}  in 10\.0\.0\.1:\d+ > 10\.0\.0\.2:13  S +seq 0 \(\d+\) win 65535 len 0 <mss 1460,sackOK,TS \d+ 0,wscale 6>$/)
  expect(text).toMatch(/out 10\.0\.0\.2:13 > 10\.0\.0\.1:\d+  S\. +seq 0 \(\d+\) ack 1 \(\d+\) win 65535 len 0 <mss 1460,sackOK,TS \d+ \d+,wscale 6>/)
  expect(text).toMatch(/state 10\.0\.0\.2:13 10\.0\.0\.1:\d+  LISTEN -> SYN-RECEIVED \(SYN received\)/)
  expect(text).toMatch(/out .* P\. +seq 1 \(\d+\) ack 1 \(\d+\) win \d+ len 2/)
  expect(text).toContain('ESTABLISHED -> FIN-WAIT-1 (CLOSE)')
  expect(text).toContain('FIN-WAIT-2 -> TIME-WAIT (FIN received)')
})

it('colours lines for a terminal and leaves them plain otherwise', async () => {
  const net = twoStacks()
  const coloured: string[] = []
  new Tracer(net.b, line => coloured.push(line), true)
  const sock = net.a.connect({ host: B, port: 99 }) // nobody listens: SYN in, RST out
  sock.on('error', () => {})
  await runFor(net.clock, 10)
  expect(coloured[0]).toMatch(/^\x1b\[36m.* in .* S +seq 0 .*\x1b\[0m$/)
  expect(coloured[1]).toMatch(/^\x1b\[31m.*out .* R\. .*\x1b\[0m$/)
})

it('shows a Fast Open cookie request and the cookie given, as packetdrill writes them (RFC 7413)', async () => {
  const p = new PacketPeer()
  const lines: string[] = []
  new Tracer(p.stack, line => lines.push(line))
  p.stack.createServer(() => {}).listen({ port: 80, fastOpen: 1 })
  await settle()
  await p.send('S', { seq: 0, options: { mss: 1460, fastOpen: { cookie: new Uint8Array(0), experimental: true } } })
  expect(lines[0]).toMatch(/ S +seq 0 .*<mss 1460,FOEXP>$/)
  expect(lines.join('\n')).toMatch(/out .* S\. .*<mss 1460,FOEXP [0-9a-f]{16}>/)
})
