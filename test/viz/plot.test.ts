// The time-sequence and cwnd graphs of a small known trace: which elements are drawn,
// where (coordinates worked out by hand from the chart's size), and in which colour class.
import { describe, expect, it } from 'vitest'
import { cwndSvg, recoveryPeriods } from '../../src/viz/cwnd'
import { plotHtml, plotSvg } from '../../src/viz/plot'
import { formatBytes, niceDomain, ticks } from '../../src/viz/scale'
import { timeSequence, timeSequenceSvg } from '../../src/viz/time-sequence'
import { parseTrace, type SegmentRecord, type SenderRecord } from '../../src/viz/trace'

const S = { src: '10.0.0.2', sport: 80, dst: '10.0.0.1', dport: 4000 }
const R = { src: '10.0.0.1', sport: 4000, dst: '10.0.0.2', dport: 80 }
const seg = (t: number, dir: 'in' | 'out', flags: string[], seq: number, ack: number | null, len = 0, win = 500, more: Partial<SegmentRecord> = {}): SegmentRecord =>
  ({ type: 'segment', t, conn: 1, dir, ...(dir === 'out' ? S : R), flags, seq, ack, len, win, options: {}, sack: [], ...more })

// The stack (10.0.0.2) sends 300 bytes from ISN 1000; the second 100 are lost, SACKed around, resent.
const SEGMENTS: SegmentRecord[] = [
  seg(0, 'out', ['SYN'], 1000, null, 0, 65535, { options: { wscale: 2 } }),
  seg(5, 'in', ['SYN', 'ACK'], 5000, 1001, 0, 1000, { options: { wscale: 1 } }),
  seg(10, 'out', ['PSH', 'ACK'], 1001, 5001, 100),
  seg(10, 'out', ['PSH', 'ACK'], 1101, 5001, 100),
  seg(10, 'out', ['PSH', 'ACK'], 1201, 5001, 100),
  seg(20, 'in', ['ACK'], 5001, 1101, 0, 500, { sack: [[1201, 1301]] }),
  seg(30, 'out', ['PSH', 'ACK'], 1101, 5001, 100),
  seg(40, 'in', ['ACK'], 5001, 1301, 0, 500),
  seg(50, 'out', ['FIN', 'ACK'], 1301, 5001),
  seg(55, 'in', ['FIN', 'ACK'], 5001, 1302, 0, 500),
]

const sender = (t: number, cwnd: number, recovery: SenderRecord['recovery'], ssthresh: number | null = null): SenderRecord => ({
  type: 'sender', t, conn: 1, local: S.src, lport: 80, remote: R.src, rport: 4000, state: 'ESTABLISHED', cc: 'newreno',
  cwnd, ssthresh, srtt: 10, rttvar: 5, rto: 200, flight: 100, sacked: 0, sndUna: 0, sndNxt: 0, sndWnd: 1000, recovery,
})

// The chart's plot area: 760 x 340 less margins left 72, right 16, top 40, bottom 46.
const LEFT = 72
const WIDTH = 672
const TOP = 40
const HEIGHT = 254
/** Time 0..55 ms widens to 0..60 (ticks of 10); sequence 0..361 (the window edge, clipped at 1.2 x the data) to 0..400. */
const x = (t: number) => Math.round((LEFT + (t / 60) * WIDTH) * 10) / 10
const y = (seq: number) => Math.round((TOP + HEIGHT - (seq / 400) * HEIGHT) * 10) / 10

function elements(svg: string, name: string, cls: string): string[] {
  return [...svg.matchAll(new RegExp(`<${name} class="${cls}"[^>]*>`, 'g'))].map(m => m[0])
}

describe('scales', () => {
  it('ticks at 1, 2 or 5 times a power of ten, and widens a domain to them', () => {
    expect(ticks(0, 55)).toEqual([0, 10, 20, 30, 40, 50])
    expect(ticks(0, 361.2)).toEqual([0, 100, 200, 300])
    expect(ticks(0.3, 0.62, 4)).toEqual([0.3, 0.4, 0.5, 0.6])
    expect(niceDomain(0, 55)).toEqual([0, 60])
    expect([formatBytes(400), formatBytes(64_000), formatBytes(1_500_000)]).toEqual(['400 B', '64 kB', '1.5 MB'])
  })
})

describe('time-sequence graph', () => {
  const ts = timeSequence(SEGMENTS)

  it('takes the data direction, sequence numbers relative to the ISN, and marks the resent bytes', () => {
    expect(ts).toMatchObject({ from: '10.0.0.2:80', to: '10.0.0.1:4000', dir: 'out', start: 0, end: 55 })
    expect(ts.segments).toEqual([
      { t: 10, seq: 1, end: 101, rtx: false },
      { t: 10, seq: 101, end: 201, rtx: false },
      { t: 10, seq: 201, end: 301, rtx: false },
      { t: 30, seq: 101, end: 201, rtx: true },
    ])
    expect(ts.sacks).toEqual([{ t: 20, left: 201, right: 301 }])
    expect(ts.marks).toEqual([{ t: 0, seq: 0, kind: 'SYN' }, { t: 50, seq: 301, kind: 'FIN' }])
  })

  it('scales the receiver\'s window by its shift except on its SYN (RFC 7323 2.3)', () => {
    expect(ts.acks).toEqual([
      { t: 5, ack: 1, edge: 1001 },
      { t: 20, ack: 101, edge: 1101 },
      { t: 40, ack: 301, edge: 1301 },
      { t: 55, ack: 302, edge: 1302 },
    ])
  })

  it('draws each segment as a vertical bar at its time over its bytes, the resent one red', () => {
    const svg = timeSequenceSvg(ts, 'test', 't')
    const bars = elements(svg, 'line', 'seg')
    expect(bars).toHaveLength(3)
    expect(bars[0]).toBe(`<line class="seg" x1="${x(10)}" y1="${y(1)}" x2="${x(10)}" y2="${y(101)}">`)
    expect(elements(svg, 'line', 'seg rtx')).toEqual([`<line class="seg rtx" x1="${x(30)}" y1="${y(101)}" x2="${x(30)}" y2="${y(201)}">`])
    expect(elements(svg, 'circle', 'rtx-dot')).toEqual([`<circle class="rtx-dot" cx="${x(30)}" cy="${y(151)}" r="3"/>`])
    expect(elements(svg, 'line', 'sack')).toEqual([`<line class="sack" x1="${x(20)}" y1="${y(201)}" x2="${x(20)}" y2="${y(301)}"/>`])
  })

  it('draws the ACK line as steps, the window edge above it, and marks SYN and FIN', () => {
    const svg = timeSequenceSvg(ts, 'test', 't')
    const points = (cls: string) => /points="([^"]*)"/.exec(elements(svg, 'polyline', cls)[0]!)![1]
    expect(points('ack')).toBe(`${x(5)},${y(1)} ${x(20)},${y(1)} ${x(20)},${y(101)} ${x(40)},${y(101)} ${x(40)},${y(301)} ${x(55)},${y(301)} ${x(55)},${y(302)}`)
    expect(points('win').startsWith(`${x(5)},${y(1001)} `)).toBe(true)
    expect(svg).toContain(`<text x="${x(0) + 3}" y="${y(0) - 3}" class="mark SYN">S</text>`)
    expect(svg).toContain(`<text x="${x(50) + 3}" y="${y(301) - 3}" class="mark FIN">F</text>`)
    // Everything above the plot area is clipped, and the axes say their units.
    expect(svg).toContain('<clipPath id="clip-t">')
    expect(svg).toContain('>time (s)</text>')
    expect(svg).toContain('>sequence offset (bytes)</text>')
    expect(svg).toContain('>400 B</text>')
  })
})

describe('cwnd graph', () => {
  const records = [sender(10, 3000, 'open'), sender(20, 1500, 'recovery', 1500), sender(30, 1500, 'recovery', 1500), sender(40, 1600, 'open', 1500), sender(45, 300, 'loss', 800)]

  it('finds the stretches of fast recovery and after an RTO', () => {
    expect(recoveryPeriods(records, 55)).toEqual([{ from: 20, to: 40, state: 'recovery' }, { from: 45, to: 55, state: 'loss' }])
  })

  it('shades them, and draws cwnd, ssthresh from the first loss, and the bytes in flight', () => {
    const svg = cwndSvg(records, 0, 55, 'cwnd')
    // 260 high: plot area 40..214; bytes 0..3000 (ticks of 500).
    const cy = (v: number) => Math.round((40 + 174 - (v / 3000) * 174) * 10) / 10
    expect(elements(svg, 'rect', 'recovery')).toEqual([`<rect class="recovery" x="${x(20)}" y="40" width="${Math.round((x(40) - x(20)) * 10) / 10}" height="174"/>`])
    expect(elements(svg, 'rect', 'loss')).toHaveLength(1)
    const points = (cls: string) => /points="([^"]*)"/.exec(elements(svg, 'polyline', cls)[0]!)![1]!.split(' ')
    expect(points('cwnd').slice(0, 3)).toEqual([`${x(10)},${cy(3000)}`, `${x(20)},${cy(3000)}`, `${x(20)},${cy(1500)}`])
    expect(points('ssthresh')[0]).toBe(`${x(20)},${cy(1500)}`) // none before the first loss
    expect(points('flight')[0]).toBe(`${x(10)},${cy(100)}`)
  })
})

describe('plot', () => {
  const text = [
    JSON.stringify({ type: 'header', schema: 'tuntcp-trace', version: 1, stack: '10.0.0.2', start: '1970-01-01T00:00:00.000Z' }),
    ...SEGMENTS.map(s => JSON.stringify(s)),
    JSON.stringify(sender(20, 1500, 'recovery', 1500)),
  ].join('\n')

  it('writes an SVG document and a self-contained HTML page, one connection or all', () => {
    const trace = parseTrace(text)
    const svg = plotSvg(trace)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="760" height="600"')).toBe(true)
    expect(svg).toContain('connection 1: 10.0.0.2:80 → 10.0.0.1:4000, congestion window (newreno)')
    const html = plotHtml(trace, 1)
    expect(html).toMatch(/^<!DOCTYPE html>/)
    expect(html).toContain('retransmitted: 1 segments, 100 bytes')
    expect(html).not.toMatch(/(src|href)="https?:/) // nothing fetched
    expect(() => plotSvg(trace, 2)).toThrow('no connection 2 in the trace (it has 1)')
  })

  it('refuses a file that is not a trace, or of another schema version', () => {
    expect(() => parseTrace('{"type":"segment"}')).toThrow('line 1: not a tuntcp trace')
    expect(() => parseTrace('{"type":"header","schema":"tuntcp-trace","version":2}')).toThrow('version 2, this tuntcp reads version 1')
    expect(() => parseTrace(`${text}\nnot json`)).toThrow(`line ${SEGMENTS.length + 3}: not JSON`)
  })
})
