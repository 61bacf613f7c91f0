// Scales and axes: a linear map from data to pixels, "nice" tick values (1, 2 or 5
// times a power of ten), and the two axes of a chart with their labels and units.

import { el, text } from './svg.js'

export interface Scale {
  (value: number): number
  domain: [number, number]
  range: [number, number]
}

/** Maps domain[0] -> range[0] and domain[1] -> range[1]; an empty domain maps to the range's middle. */
export function linear(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain
  const [r0, r1] = range
  const f = ((v: number) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((v - d0) / (d1 - d0)) * (r1 - r0))) as Scale
  f.domain = domain
  f.range = range
  return f
}

/** About `count` round values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function ticks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo]
  const raw = (hi - lo) / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= raw)!
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

/** Widen [lo, hi] to tick values, so lines do not end exactly on the frame. */
export function niceDomain(lo: number, hi: number): [number, number] {
  if (!(hi > lo)) return [lo, lo + 1]
  const t = ticks(lo, hi)
  const step = t.length > 1 ? t[1]! - t[0]! : hi - lo
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step]
}

/** Bytes as people read them: 1500 B, 64 kB, 1.5 MB (SI, as tcptrace). */
export function formatBytes(n: number): string {
  const a = Math.abs(n)
  if (a >= 1e6) return `${Number((n / 1e6).toPrecision(3))} MB`
  if (a >= 1e3) return `${Number((n / 1e3).toPrecision(3))} kB`
  return `${n} B`
}

/** Seconds from milliseconds, with no more decimals than the step between ticks needs. */
export function formatSeconds(ms: number, stepMs: number): string {
  const decimals = Math.max(0, Math.min(6, Math.ceil(-Math.log10(stepMs / 1000))))
  return `${(ms / 1000).toFixed(decimals)}`
}

/** The frame of a chart: the plot area inside margins for the axes. */
export interface Frame {
  left: number
  top: number
  width: number
  height: number
}

/** Every chart's size: room on the left for byte labels, above for the title and legend, below for the time axis. */
export const CHART = { width: 760, height: 340, margin: { left: 72, right: 16, top: 40, bottom: 46 } }

/** The plot area of a chart CHART.width wide and `height` high. */
export function chartFrame(height = CHART.height): Frame {
  const m = CHART.margin
  return { left: m.left, top: m.top, width: CHART.width - m.left - m.right, height: height - m.top - m.bottom }
}

/** Time (ms) across the frame, widened to round values: charts of one connection share it, so they line up. */
export function timeScale(frame: Frame, start: number, end: number): Scale {
  return linear(niceDomain(start, end), [frame.left, frame.left + frame.width])
}

/** A row of short sample lines with names (CSS classes of the chart's marks), above the plot area on the right. */
export function legend(frame: Frame, items: Array<[string, string]>): string {
  let at = frame.left + frame.width
  const parts: string[] = []
  for (const [cls, name] of [...items].reverse()) {
    at -= name.length * 6.5 + 32
    parts.push(el('line', { class: `key ${cls}`, x1: at, y1: frame.top - 11, x2: at + 16, y2: frame.top - 11 }), text(at + 20, frame.top - 7, name))
  }
  return el('g', { class: 'legend' }, ...parts)
}

/**
 * Both axes, grid lines and labels for x and y inside `frame`: the x axis along the
 * bottom, the y axis on the left, each with its title (units included).
 */
export function axes(frame: Frame, x: Scale, y: Scale, xTitle: string, yTitle: string, yFormat: (v: number) => string = String): string {
  const bottom = frame.top + frame.height
  const right = frame.left + frame.width
  const parts: string[] = []
  const xt = ticks(x.domain[0], x.domain[1], Math.max(2, Math.round(frame.width / 90)))
  const xStep = xt.length > 1 ? xt[1]! - xt[0]! : 1
  for (const v of xt) {
    const px = x(v)
    parts.push(el('line', { class: 'grid', x1: px, y1: frame.top, x2: px, y2: bottom }))
    parts.push(text(px, bottom + 14, formatSeconds(v, xStep), { 'text-anchor': 'middle' }))
  }
  for (const v of ticks(y.domain[0], y.domain[1], Math.max(2, Math.round(frame.height / 50)))) {
    const py = y(v)
    parts.push(el('line', { class: 'grid', x1: frame.left, y1: py, x2: right, y2: py }))
    parts.push(text(frame.left - 4, py + 4, yFormat(v), { 'text-anchor': 'end' }))
  }
  parts.push(el('rect', { class: 'frame', x: frame.left, y: frame.top, width: frame.width, height: frame.height, fill: 'none' }))
  parts.push(text(frame.left + frame.width / 2, bottom + 30, xTitle, { 'text-anchor': 'middle', class: 'title' }))
  const my = frame.top + frame.height / 2
  parts.push(text(14, my, yTitle, { 'text-anchor': 'middle', class: 'title', transform: `rotate(-90 14 ${my})` }))
  return el('g', { class: 'axes' }, ...parts)
}

/** The stroke styles every chart shares: grid, frame, titles. */
export const AXES_STYLE = '.grid{stroke:#e4e4e4;stroke-width:1}.frame{stroke:#888;stroke-width:1}.title{font-weight:bold}'
