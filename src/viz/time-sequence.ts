// The time-sequence graph of one connection, as tcptrace and Wireshark's "Stevens"
// graph draw it: time across, sequence number up. Each data segment is a vertical bar
// over the bytes it carries (red when it resends bytes sent before); the ACK line is
// the receiver's cumulative acknowledgment, the window line its right window edge
// (ACK + scaled window: the sender may not go above it); SACK blocks are purple bars,
// SYN, FIN and RST are marked. Sequence numbers are relative to the sender's ISN.

import type { SegmentRecord } from './trace.js'
import { axes, chartFrame, formatBytes, legend, linear, niceDomain, timeScale } from './scale.js'
import { el, esc, polyline, steps, text } from './svg.js'

export interface TimeSequence {
  /** The data's sender and receiver, "address:port". */
  from: string
  to: string
  /** Whether the traced stack sent the data ('out') or received it ('in'). */
  dir: 'in' | 'out'
  /** Time span of the connection's records (ms). */
  start: number
  end: number
  segments: Array<{ t: number; seq: number; end: number; rtx: boolean }>
  /** The receiver's cumulative ACK and right window edge, each time it said them. */
  acks: Array<{ t: number; ack: number; edge: number }>
  sacks: Array<{ t: number; left: number; right: number }>
  marks: Array<{ t: number; seq: number; kind: 'SYN' | 'FIN' | 'RST' }>
}

const rel = (n: number, isn: number) => (n - isn) >>> 0 // modulo 2^32 (RFC 9293 3.4)

/** Take one connection's segments apart by direction: data one way, ACKs and windows the other. */
export function timeSequence(segs: SegmentRecord[], times: { start: number; end: number } = span(segs)): TimeSequence {
  // The data direction: whichever way carried more bytes (the stack's own on a tie).
  const bytes = (dir: 'in' | 'out') => segs.filter(s => s.dir === dir).reduce((n, s) => n + s.len, 0)
  const dir = bytes('in') > bytes('out') ? 'in' : 'out'
  const data = segs.filter(s => s.dir === dir)
  const back = segs.filter(s => s.dir !== dir)
  const first = data[0] ?? back[0]
  const from = first === undefined ? '?' : first.dir === dir ? `${first.src}:${first.sport}` : `${first.dst}:${first.dport}`
  const to = first === undefined ? '?' : first.dir === dir ? `${first.dst}:${first.dport}` : `${first.src}:${first.sport}`
  const syn = data.find(s => s.flags.includes('SYN'))
  const isn = syn?.seq ?? (data[0] !== undefined ? (data[0].seq - 1) >>> 0 : 0)
  // RFC 7323 2.3: windows are scaled only when both SYNs carried the option, and never on a SYN.
  const backSyn = back.find(s => s.flags.includes('SYN'))
  const shift = syn?.options.wscale !== undefined && backSyn?.options.wscale !== undefined ? Math.min(14, backSyn.options.wscale) : 0

  const ts: TimeSequence = { from, to, dir, start: times.start, end: times.end, segments: [], acks: [], sacks: [], marks: [] }
  let highest = 0 // one past the highest byte sent so far
  for (const s of data) {
    const seq = rel(s.seq, isn)
    const end = seq + s.len
    if (s.len > 0) {
      ts.segments.push({ t: s.t, seq, end, rtx: seq < highest })
      highest = Math.max(highest, end)
    }
    for (const kind of ['SYN', 'FIN', 'RST'] as const) if (s.flags.includes(kind)) ts.marks.push({ t: s.t, seq: end, kind })
  }
  for (const s of back) {
    if (s.ack !== null) {
      const ack = rel(s.ack, isn)
      ts.acks.push({ t: s.t, ack, edge: ack + s.win * 2 ** (s.flags.includes('SYN') ? 0 : shift) })
    }
    for (const [l, r] of s.sack) ts.sacks.push({ t: s.t, left: rel(l, isn), right: rel(r, isn) })
    if (s.flags.includes('RST')) ts.marks.push({ t: s.t, seq: s.ack === null ? highest : rel(s.ack, isn), kind: 'RST' })
  }
  return ts
}

function span(segs: SegmentRecord[]): { start: number; end: number } {
  return { start: segs[0]?.t ?? 0, end: segs.at(-1)?.t ?? 0 }
}

export const TIME_SEQUENCE_STYLE = '.seg{stroke:#1f5fbf;stroke-width:2;stroke-linecap:square}.seg.rtx{stroke:#d62728;stroke-width:3}.rtx-dot{fill:#d62728}'
  + '.ack{stroke:#2ca02c;stroke-width:1.5}.win{stroke:#d4a000;stroke-width:1.5}.sack{stroke:#9467bd;stroke-width:2;opacity:.4}'
  + '.mark{font-weight:bold;font-size:10px}.mark.RST{fill:#d62728}.mark.FIN{fill:#000}.mark.SYN{fill:#555}'

/** The graph as an SVG group of CHART.width x CHART.height, its title above the plot area; `id` names its clip path. */
export function timeSequenceSvg(ts: TimeSequence, title: string, id = 'ts'): string {
  const frame = chartFrame()
  const x = timeScale(frame, ts.start, ts.end)
  const top = Math.max(1, ...ts.segments.map(s => s.end), ...ts.acks.map(a => a.ack), ...ts.marks.map(m => m.seq))
  // The window edge can be far above the data (a 2 MB window for a 20 kB reply): show it up to a fifth above the data, clipped.
  const edge = Math.max(0, ...ts.acks.map(a => a.edge))
  const y = linear(niceDomain(0, Math.max(top, Math.min(edge, top * 1.2))), [frame.top + frame.height, frame.top])
  const clip = `clip-${id}`
  const body = [
    polyline(steps(ts.acks.map(a => [x(a.t), y(a.edge)])), { class: 'win' }),
    polyline(steps(ts.acks.map(a => [x(a.t), y(a.ack)])), { class: 'ack' }),
    ...ts.sacks.map(s => el('line', { class: 'sack', x1: x(s.t), y1: y(s.left), x2: x(s.t), y2: y(s.right) })),
    // A resent segment is a short bar among thousands: a dot on it makes it findable.
    ...ts.segments.filter(s => s.rtx).map(s => el('circle', { class: 'rtx-dot', cx: x(s.t), cy: y((s.seq + s.end) / 2), r: 3 })),
    ...ts.segments.map(s => el('line', { class: s.rtx ? 'seg rtx' : 'seg', x1: x(s.t), y1: y(s.seq), x2: x(s.t), y2: y(s.end) },
      el('title', {}, esc(`${(s.t / 1000).toFixed(6)} s  ${s.seq}:${s.end} (${s.end - s.seq})${s.rtx ? '  retransmission' : ''}`)))),
    ...ts.marks.map(m => text(x(m.t) + 3, y(m.seq) - 3, m.kind[0]!, { class: `mark ${m.kind}` })),
  ]
  return el('g', { class: 'time-sequence' },
    text(frame.left, 14, title, { class: 'title' }),
    legend(frame, [['seg', 'data'], ['seg rtx', 'retransmitted'], ['ack', 'ACK'], ['win', 'window edge'], ['sack', 'SACK block']]),
    axes(frame, x, y, 'time (s)', 'sequence offset (bytes)', formatBytes),
    el('clipPath', { id: clip }, el('rect', { x: frame.left, y: frame.top, width: frame.width, height: frame.height })),
    el('g', { 'clip-path': `url(#${clip})` }, ...body),
  )
}
