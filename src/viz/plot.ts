// `tuntcp plot`: for each connection of a JSON trace, its time-sequence graph and,
// when the traced stack sent the data, its congestion window beneath on the same
// time axis. As one SVG file, or as an HTML page with a summary per connection.

import { CWND_HEIGHT, CWND_STYLE, cwndSvg } from './cwnd.js'
import { htmlPage } from './page.js'
import { AXES_STYLE, CHART } from './scale.js'
import { el, esc, svgDocument, text } from './svg.js'
import { TIME_SEQUENCE_STYLE, timeSequence, timeSequenceSvg, type TimeSequence } from './time-sequence.js'
import { connectionIds, type SegmentRecord, type SenderRecord, type Trace } from './trace.js'

export const CHART_STYLE = AXES_STYLE + TIME_SEQUENCE_STYLE + CWND_STYLE + 'text{fill:#222}'

interface Plotted {
  id: number
  ts: TimeSequence
  /** The charts, stacked, as one SVG group, and its height. */
  body: string
  height: number
  summary: string[]
}

function plotOne(trace: Trace, id: number): Plotted {
  const records = trace.records.filter(r => r.conn === id)
  const segs = records.filter((r): r is SegmentRecord => r.type === 'segment')
  const senders = records.filter((r): r is SenderRecord => r.type === 'sender')
  // The segments' span: a state record 2MSL later (TIME-WAIT ending) would squash the graph into its first pixels.
  const wire = segs.length > 0 ? segs : records
  const times = { start: wire[0]?.t ?? 0, end: wire.at(-1)?.t ?? 0 }
  const ts = timeSequence(segs, times)
  const name = `connection ${id}: ${ts.from} → ${ts.to}`
  let body = timeSequenceSvg(ts, `${name}, time-sequence`, `c${id}`)
  let height = CHART.height
  // cwnd is the traced stack's: it says something about this data only if the stack sent it.
  if (ts.dir === 'out' && senders.length > 0) {
    body += el('g', { transform: `translate(0 ${height})` }, cwndSvg(senders, times.start, times.end, `${name}, congestion window (${senders[0]!.cc})`))
    height += CWND_HEIGHT
  }
  return { id, ts, body, height, summary: summarize(ts, records.at(-1)) }
}

function summarize(ts: TimeSequence, last: Trace['records'][number] | undefined): string[] {
  const sent = ts.segments.reduce((n, s) => n + s.end - s.seq, 0)
  const rtx = ts.segments.filter(s => s.rtx)
  const lines = [
    `${ts.dir === 'out' ? 'sent by the traced stack' : 'received by the traced stack'}: ${ts.segments.length} data segments, ${sent} bytes`,
    `retransmitted: ${rtx.length} segments, ${rtx.reduce((n, s) => n + s.end - s.seq, 0)} bytes`,
    `duration: ${((ts.end - ts.start) / 1000).toFixed(3)} s`,
  ]
  if (ts.sacks.length > 0) lines.push(`SACK blocks seen: ${ts.sacks.length}`)
  if (last?.type === 'state') lines.push(`last state: ${last.to}`)
  return lines
}

/** Which connections to draw: one (`conn`), or all; throws when the trace has no such one. */
function chosen(trace: Trace, conn?: number): number[] {
  const ids = connectionIds(trace)
  if (conn === undefined) return ids
  if (!ids.includes(conn)) throw new RangeError(`no connection ${conn} in the trace (it has ${ids.length === 0 ? 'none' : ids.join(', ')})`)
  return [conn]
}

/** One SVG file: the connections' charts one under another. */
export function plotSvg(trace: Trace, conn?: number): string {
  const parts: string[] = []
  let y = 0
  for (const p of chosen(trace, conn).map(id => plotOne(trace, id))) {
    parts.push(el('g', { transform: `translate(0 ${y})` }, p.body))
    y += p.height
  }
  if (parts.length === 0) parts.push(text(20, 30, 'no connections in this trace'))
  return svgDocument(CHART.width, Math.max(y, 60), el('rect', { width: '100%', height: '100%', fill: '#fff' }) + parts.join(''), CHART_STYLE)
}

/** An HTML page: per connection a heading, a few numbers, the charts. */
export function plotHtml(trace: Trace, conn?: number, title = 'tuntcp trace'): string {
  const sections = chosen(trace, conn).map(id => plotOne(trace, id)).map(p =>
    `<h2>Connection ${p.id}: ${esc(p.ts.from)} → ${esc(p.ts.to)}</h2>\n<ul>${p.summary.map(s => `<li>${esc(s)}</li>`).join('')}</ul>\n`
    + el('svg', { xmlns: 'http://www.w3.org/2000/svg', width: CHART.width, height: p.height, viewBox: `0 0 ${CHART.width} ${p.height}`, 'font-family': 'sans-serif', 'font-size': 11 }, p.body) + '\n')
  const intro = `<p>Trace of ${esc(trace.header.stack)} from ${esc(trace.header.start)}. Sequence numbers are relative to the sender's ISN; `
    + 'hover over a segment for its time and bytes. Blue bars: data; red: bytes sent again; green: the ACK; yellow: the window edge (ACK + window); purple: SACK blocks; S, F, R: SYN, FIN, RST.</p>\n'
  return htmlPage(title, intro + (sections.length === 0 ? '<p>No connections in this trace.</p>' : sections.join('')), CHART_STYLE)
}
