// A ladder diagram (message sequence chart) as SVG: two ends as vertical time lines,
// each segment an arrow from the moment it left one end to the moment it reached the
// other (so it slants by the real time it spent on the wire, and two segments that
// cross on the wire cross on the page), labelled with its flags and numbers. Each
// end's state is written in its column whenever it changes, linked to the RFC section
// (and the code) that makes the change.

import { el, esc, num, text } from './svg.js'

export interface Link {
  href: string
  /** What the link says. */
  text: string
}

export interface LadderStep {
  /** ms since the start: when the step happened (a segment: when it arrived). */
  time: number
  /** What happened: an application call, time passing; shown when no arrow is. */
  event: string
  /** Both ends' states after the step. */
  left: string
  right: string
  arrow?: { from: 'left' | 'right'; sentAt: number; label: string; rst?: boolean }
  /** For a state that changed at this step: links to where the rule is (RFC, code). */
  links?: { left?: Link[]; right?: Link[] }
  /** The step disagrees with what the RFC says: drawn in red. */
  wrong?: boolean
}

export interface Ladder {
  left: { title: string; address: string }
  right: { title: string; address: string }
  steps: LadderStep[]
}

const WIDTH = 880
const LEFT_X = 270
const RIGHT_X = 630
const TOP = 64
/** Pixels per millisecond, and the most one gap of time may take (longer gaps are drawn cut, with ≈). */
const PX_PER_MS = 0.5
const MAX_GAP = 80
/** Room each step's state labels need. */
const ROW_GAP = 40

export const LADDER_STYLE = '.end{stroke:#444;stroke-width:2}.arrow{stroke:#1f5fbf;stroke-width:1.5}.arrow.rst{stroke:#d62728}'
  + '.arrow-label{font-family:monospace;font-size:11px}.state{font-weight:bold;font-size:12px}.state.wrong{fill:#d62728}'
  + '.event{font-style:italic;fill:#555}.clock{fill:#888;font-size:10px}.rule{font-size:9px;fill:#1a5fa8}.cut{fill:#888;font-size:16px}'
  + '.head{fill:#1f5fbf}.head.rst{fill:#d62728}'

/**
 * Where each moment goes down the page: time runs down at PX_PER_MS, but a long wait
 * (a 2MSL timer) is cut to MAX_GAP, and steps are kept ROW_GAP apart for their labels.
 */
export function timeline(steps: LadderStep[]): { y: (t: number) => number; cuts: number[]; bottom: number } {
  const moments = new Map<number, boolean>() // time -> is a step (needs label room)
  for (const s of steps) {
    moments.set(s.time, true)
    if (s.arrow !== undefined && !moments.has(s.arrow.sentAt)) moments.set(s.arrow.sentAt, false)
  }
  const times = [...moments.keys()].sort((a, b) => a - b)
  const at = new Map<number, number>()
  const cuts: number[] = []
  let y = TOP
  let lastRow = -Infinity
  times.forEach((t, i) => {
    if (i > 0) {
      const gap = (t - times[i - 1]!) * PX_PER_MS
      if (gap > MAX_GAP) cuts.push(y + MAX_GAP / 2)
      y += Math.min(gap, MAX_GAP)
    }
    if (moments.get(t) === true) {
      y = Math.max(y, lastRow + ROW_GAP)
      lastRow = y
    }
    at.set(t, y)
  })
  return { y: t => at.get(t) ?? TOP, cuts, bottom: y + ROW_GAP }
}

function links(list: Link[] | undefined, x: number, y: number, anchor: 'start' | 'end'): string {
  if (list === undefined || list.length === 0) return ''
  const parts = list.map(l => el('a', { href: l.href }, el('tspan', { class: 'rule' }, esc(l.text))))
  return el('text', { x, y, 'text-anchor': anchor }, parts.join(el('tspan', { class: 'rule' }, ' · ')))
}

/** An arrowhead for the ends of arrows of one colour (`cls`); ids are per ladder, as a page may hold several. */
function arrowhead(id: string, cls: string): string {
  return el('marker', { id, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto' }, el('path', { class: cls, d: 'M0,0 L10,5 L0,10 z' }))
}

/** The ladder as a standalone SVG element (its own style inside); `id` keeps its arrowheads apart from another ladder's on the page. */
export function ladderSvg(ladder: Ladder, id = 'ladder'): string {
  const { y, cuts, bottom } = timeline(ladder.steps)
  const parts: string[] = [
    el('defs', {}, arrowhead(`${id}-ah`, 'head'), arrowhead(`${id}-ah-rst`, 'head rst')),
    el('rect', { width: '100%', height: '100%', fill: '#fff' }),
    text(LEFT_X, 20, ladder.left.title, { 'text-anchor': 'middle', class: 'state' }),
    text(LEFT_X, 36, ladder.left.address, { 'text-anchor': 'middle', class: 'clock' }),
    text(RIGHT_X, 20, ladder.right.title, { 'text-anchor': 'middle', class: 'state' }),
    text(RIGHT_X, 36, ladder.right.address, { 'text-anchor': 'middle', class: 'clock' }),
    el('line', { class: 'end', x1: LEFT_X, y1: TOP - 14, x2: LEFT_X, y2: bottom }),
    el('line', { class: 'end', x1: RIGHT_X, y1: TOP - 14, x2: RIGHT_X, y2: bottom }),
    ...cuts.flatMap(c => [text(LEFT_X - 5, c + 5, '≈', { class: 'cut' }), text(RIGHT_X - 5, c + 5, '≈', { class: 'cut' })]),
  ]
  let last: { left: string; right: string } | null = null
  for (const s of ladder.steps) {
    const sy = y(s.time)
    parts.push(text(8, sy + 4, `${(s.time / 1000).toFixed(3)} s`, { class: 'clock' }))
    if (s.arrow !== undefined) {
      const [x1, x2] = s.arrow.from === 'left' ? [LEFT_X, RIGHT_X] : [RIGHT_X, LEFT_X]
      const y1 = y(s.arrow.sentAt)
      const angle = (Math.atan2(sy - y1, x2 - x1) * 180) / Math.PI
      // The label reads left to right along the arrow, just above it.
      const upright = s.arrow.from === 'left' ? angle : angle - 180
      // A third of the way from the sender: two segments crossing on the wire keep their labels apart.
      const mx = x1 + (x2 - x1) * 0.35
      const my = y1 + (sy - y1) * 0.35
      parts.push(el('line', { class: s.arrow.rst ? 'arrow rst' : 'arrow', x1, y1, x2, y2: sy, 'marker-end': `url(#${id}-ah${s.arrow.rst ? '-rst' : ''})` }))
      parts.push(text(mx, my - 4, s.arrow.label, { class: 'arrow-label', 'text-anchor': 'middle', transform: `rotate(${num(upright)} ${num(mx)} ${num(my)})` }))
    } else {
      const side = s.event.startsWith('client') ? 'left' : s.event.startsWith('server') ? 'right' : 'middle'
      const [x, anchor] = side === 'left' ? [LEFT_X + 8, 'start'] : side === 'right' ? [RIGHT_X - 8, 'end'] : [(LEFT_X + RIGHT_X) / 2, 'middle']
      // Above the row: an arrow the call sends leaves from the row itself, downwards.
      parts.push(text(x, side === 'middle' ? sy + 4 : sy - 6, s.event, { class: 'event', 'text-anchor': anchor }))
    }
    const cls = s.wrong ? 'state wrong' : 'state'
    if (s.left !== last?.left) {
      parts.push(text(LEFT_X - 12, sy + 4, s.left, { class: cls, 'text-anchor': 'end' }), links(s.links?.left, LEFT_X - 12, sy + 16, 'end'))
    }
    if (s.right !== last?.right) {
      parts.push(text(RIGHT_X + 12, sy + 4, s.right, { class: cls, 'text-anchor': 'start' }), links(s.links?.right, RIGHT_X + 12, sy + 16, 'start'))
    }
    last = s
  }
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', width: WIDTH, height: bottom + 10, viewBox: `0 0 ${WIDTH} ${num(bottom + 10)}`, 'font-family': 'sans-serif', 'font-size': 11 },
    el('style', {}, LADDER_STYLE), ...parts)
}
