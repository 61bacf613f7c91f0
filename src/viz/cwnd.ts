// The sender's congestion window over time, from the "sender" records: cwnd, ssthresh
// (from the first loss on, RFC 5681 3.1) and the bytes in flight (sent, neither
// cumulatively acknowledged nor SACKed: close to RFC 6675's pipe), with the time spent
// in fast recovery (RFC 5681 3.2, RFC 6675) and after a timeout shaded behind them.
// Slow start is the steep part, congestion avoidance the slope, a loss the cliff.

import type { SenderRecord } from './trace.js'
import { axes, chartFrame, formatBytes, legend, linear, niceDomain, timeScale } from './scale.js'
import { el, polyline, steps, text } from './svg.js'

export const CWND_HEIGHT = 260

export const CWND_STYLE = '.cwnd{stroke:#1f5fbf;stroke-width:1.5}.ssthresh{stroke:#ff7f0e;stroke-width:1.5;stroke-dasharray:5 3}'
  + '.flight{stroke:#2ca02c;stroke-width:1}.recovery{fill:#fde0dd}.loss{fill:#f4a6a6}'
  + '.key.recovery{stroke:#fde0dd;stroke-width:8}.key.loss{stroke:#f4a6a6;stroke-width:8}'

/** A stretch of time in one recovery state other than 'open'. */
export function recoveryPeriods(records: SenderRecord[], end: number): Array<{ from: number; to: number; state: 'recovery' | 'loss' }> {
  const out: Array<{ from: number; to: number; state: 'recovery' | 'loss' }> = []
  for (const [i, r] of records.entries()) {
    if (r.recovery === 'open') continue
    const to = records[i + 1]?.t ?? end
    const last = out.at(-1)
    if (last !== undefined && last.state === r.recovery && last.to === r.t) last.to = to
    else out.push({ from: r.t, to, state: r.recovery })
  }
  return out
}

/** The chart for one connection, over [start, end] ms (the time-sequence graph's span, so the two line up). */
export function cwndSvg(records: SenderRecord[], start: number, end: number, title: string): string {
  const frame = chartFrame(CWND_HEIGHT)
  const x = timeScale(frame, start, end)
  const inFlight = (r: SenderRecord) => r.flight - r.sacked
  const top = Math.max(1, ...records.map(r => Math.max(r.cwnd, inFlight(r), r.ssthresh ?? 0)))
  const y = linear(niceDomain(0, top), [frame.top + frame.height, frame.top])
  const at = (r: SenderRecord, v: number): [number, number] => [x(r.t), y(v)]
  const withSsthresh = records.filter(r => r.ssthresh !== null)
  const shading = recoveryPeriods(records, end).map(p =>
    el('rect', { class: p.state, x: x(p.from), y: frame.top, width: Math.max(1, x(p.to) - x(p.from)), height: frame.height }))
  return el('g', { class: 'cwnd-chart' },
    text(frame.left, 14, title, { class: 'title' }),
    legend(frame, [['cwnd', 'cwnd'], ['ssthresh', 'ssthresh'], ['flight', 'in flight'], ['recovery', 'fast recovery'], ['loss', 'after RTO']]),
    ...shading,
    axes(frame, x, y, 'time (s)', 'bytes', formatBytes),
    polyline(steps(records.map(r => at(r, inFlight(r)))), { class: 'flight' }),
    polyline(steps(withSsthresh.map(r => at(r, r.ssthresh!))), { class: 'ssthresh' }),
    polyline(steps(records.map(r => at(r, r.cwnd))), { class: 'cwnd' }),
  )
}
