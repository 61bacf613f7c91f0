// --trace-json records for a whole connection between two stacks in virtual time:
// the header, every segment, every state change, the sender after each ACK; and
// the stack builds none of it while nobody listens.
import { expect, it } from 'vitest'
import { JsonTracer } from '../../src/bin/trace-json'
import { parseTrace, type SegmentRecord, type SenderRecord, type StateRecord } from '../../src/viz/trace'
import { B, twoStacks } from '../helpers/two-stacks'
import { runFor, runUntil } from '../helpers/virtual-time'

async function traced() {
  const net = twoStacks()
  const lines: string[] = []
  const tracer = new JsonTracer(net.b, line => lines.push(line))
  net.b.createServer(s => s.end(Buffer.alloc(20_000, 'x'))).listen(19)
  const sock = net.a.connect({ host: B, port: 19 })
  sock.resume()
  await runUntil(net.clock, () => sock.state === 'CLOSED')
  await runFor(net.clock, 1)
  return { net, lines, tracer }
}

it('writes a versioned header, then one JSON object per line', async () => {
  const { lines } = await traced()
  expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'header', schema: 'tuntcp-trace', version: 1, stack: B })
  for (const line of lines) expect(() => JSON.parse(line)).not.toThrow()
  expect(lines.some(l => l.includes('\n'))).toBe(false)
})

it('records each segment with time, 4-tuple, flags, numbers, window and options', async () => {
  const { lines } = await traced()
  const segs = parseTrace(lines.join('\n')).records.filter((r): r is SegmentRecord => r.type === 'segment')
  const [syn, synAck] = segs
  expect(syn).toMatchObject({ dir: 'in', conn: 1, src: '10.0.0.1', dst: B, dport: 19, flags: ['SYN'], ack: null, len: 0, win: 65535, sack: [] })
  expect(syn!.options).toMatchObject({ mss: 1460, sackOK: true, wscale: 6 })
  expect(syn!.options.ts).toHaveLength(2)
  expect(synAck).toMatchObject({ dir: 'out', src: B, sport: 19, flags: ['SYN', 'ACK'], ack: (syn!.seq + 1) >>> 0 })
  const data = segs.filter(s => s.dir === 'out' && s.len > 0)
  expect(data.reduce((n, s) => n + s.len, 0)).toBe(20_000)
  expect(segs.filter(s => s.flags.includes('FIN'))).toHaveLength(2)
  // Time only goes forward, in ms since the header.
  for (let i = 1; i < segs.length; i++) expect(segs[i]!.t).toBeGreaterThanOrEqual(segs[i - 1]!.t)
})

it('records every state change and the sender after each ACK (RFC 5681 cwnd, RFC 6298 RTO)', async () => {
  const { lines } = await traced()
  const { records } = parseTrace(lines.join('\n'))
  const states = records.filter((r): r is StateRecord => r.type === 'state').map(r => `${r.from}>${r.to}`)
  expect(states).toEqual(['LISTEN>SYN-RECEIVED', 'SYN-RECEIVED>ESTABLISHED', 'ESTABLISHED>FIN-WAIT-1', 'FIN-WAIT-1>FIN-WAIT-2', 'FIN-WAIT-2>TIME-WAIT'])
  const senders = records.filter((r): r is SenderRecord => r.type === 'sender')
  const acksIn = records.filter(r => r.type === 'segment' && r.dir === 'in' && r.flags.includes('ACK'))
  expect(senders).toHaveLength(acksIn.length)
  const last = senders.at(-1)!
  expect(last).toMatchObject({ conn: 1, local: B, lport: 19, cc: 'cubic', ssthresh: null, flight: 0, sacked: 0, recovery: 'open' })
  expect(last.sndUna).toBe(last.sndNxt)
  expect(last.srtt).toBeTypeOf('number')
  expect(last.rto).toBeGreaterThanOrEqual(200)
  // cwnd grew in slow start as the data was acknowledged.
  expect(last.cwnd).toBeGreaterThan(senders[0]!.cwnd)
  expect(Math.max(...senders.map(s => s.flight))).toBeGreaterThan(0)
})

it('numbers connections, a new number for a new connection on the same 4-tuple', async () => {
  const net = twoStacks()
  const lines: string[] = []
  new JsonTracer(net.a, line => lines.push(line))
  net.b.createServer(s => s.end()).listen(9)
  for (let i = 0; i < 2; i++) {
    const sock = net.a.connect({ host: B, port: 9, localPort: 40000 })
    sock.resume()
    sock.end()
    await runUntil(net.clock, () => sock.state === 'CLOSED' || sock.state === 'TIME-WAIT')
    await runFor(net.clock, 70_000) // past 2MSL
  }
  const ids = parseTrace(lines.join('\n')).records.map(r => r.conn)
  expect(new Set(ids)).toEqual(new Set([1, 2]))
  expect(ids.indexOf(2)).toBeGreaterThan(ids.lastIndexOf(1)) // each number is one run of records
})

it('builds no sender snapshots while nobody listens (no cost without --trace-json)', async () => {
  const { net, tracer } = await traced()
  const tcp = (net.b as unknown as { tcp: { trace: unknown; ackTrace: unknown } }).tcp
  expect(tcp.ackTrace).not.toBeNull()
  tracer.detach()
  expect(tcp.ackTrace).toBeNull()
  expect(tcp.trace).toBeNull()
})
