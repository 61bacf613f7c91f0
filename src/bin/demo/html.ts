// tuntcp demo --html FILE: every scenario on one self-contained page. For each, the
// ladder as SVG (src/viz/ladder.ts: arrows slanted by the time each segment spent on
// the wire, states in their columns, each state change linked to its RFC 9293 section
// and, on the stack's side, to the function that takes it), the table of both ends'
// states per step, and the check against RFC 9293.

import type { State } from '../../stack/tcp/state.js'
import { ladderSvg, type Ladder, type LadderStep } from '../../viz/ladder.js'
import { htmlPage } from '../../viz/page.js'
import { esc } from '../../viz/svg.js'
import { arcLinks, SOURCE_ROOT } from './arcs.js'
import type { Row } from './recorder.js'
import { mismatches, type Outcome } from './scenarios.js'

export interface PageScenario extends Outcome {
  lesson: string
}

/** A scenario's rows as a ladder: the kernel client on the left, the stack on the right; code links under `codeRoot`. */
export function scenarioLadder(o: Outcome, codeRoot = SOURCE_ROOT): Ladder {
  const wrong = mismatches(o)
  const steps = o.rows.map((row, i): LadderStep => {
    const prev: Row | undefined = o.rows[i - 1]
    const seg = row.segment
    const linksFor = (side: 'client' | 'server') => {
      const from: State = prev?.[side] ?? row[side]
      // A RST reaches an end in this step only when the other end sent it.
      const reset = seg !== undefined && seg.rst && seg.from !== side
      return from === row[side] ? undefined : arcLinks(from, row[side], reset, side === 'server' ? codeRoot : null)
    }
    return {
      time: row.time, event: row.event, left: row.client, right: row.server, wrong: wrong.has(i),
      arrow: seg && { from: seg.from === 'client' ? 'left' : 'right', sentAt: seg.sentAt, label: seg.text, rst: seg.rst },
      links: { left: linksFor('client'), right: linksFor('server') },
    }
  })
  return { left: { title: 'client (kernel)', address: o.client }, right: { title: 'server (tuntcp)', address: o.server }, steps }
}

function table(o: Outcome): string {
  const wrong = mismatches(o)
  const rows = o.rows.map((r, i) => {
    const want = o.expected[i]
    const note = wrong.has(i) ? ` class="bad" title="RFC 9293 says ${want === undefined ? 'no such step' : esc(want.join(' / '))}"` : ''
    return `<tr${note}><td>${r.step}</td><td>${(r.time / 1000).toFixed(3)}</td><td class="mono">${esc(r.event)}</td><td>${r.client}</td><td>${r.server}</td></tr>`
  })
  return `<table><tr><th>step</th><th>time (s)</th><th>event / segment</th><th>client (kernel)</th><th>server (tuntcp)</th></tr>\n${rows.join('\n')}\n</table>`
}

function verdict(o: Outcome): string {
  if (o.problems.length === 0) return `<p class="ok">ok: matches RFC 9293${o.clientError ? ` (the kernel client saw ${esc(o.clientError)})` : ''}</p>`
  return `<p class="bad">MISMATCH</p><ul>${o.problems.map(p => `<li>${esc(p)}</li>`).join('')}</ul>`
}

/** The whole page. */
export function demoPage(scenarios: PageScenario[], about: string): string {
  const failed = scenarios.filter(s => s.problems.length > 0)
  const summary = failed.length === 0
    ? `<p class="ok">All ${scenarios.length} scenarios matched RFC 9293.</p>`
    : `<p class="bad">${failed.length} of ${scenarios.length} scenarios did not match: ${failed.map(s => esc(s.name)).join(', ')}</p>`
  const intro = `<p>${esc(about)}</p>\n<p>Each arrow leaves one end when that end sent the segment and reaches the other when the demo let it cross `
    + '(the wire holds every segment until the step before it has been seen), so arrows slant by the time they spent on the wire and '
    + 'segments that cross on the wire cross here. Long waits are cut (≈). Each end\'s state is written when it changes, with the RFC 9293 '
    + 'section that rules the change and, for tuntcp, the function that makes it. Numbers are relative to each side\'s ISN.</p>\n'
  const sections = scenarios.map((s, i) => `<section id="${esc(s.name)}">
<h2>${i + 1}. ${esc(s.title)}</h2>
<p>${esc(s.lesson)}</p>
${ladderSvg(scenarioLadder(s), s.name)}
${table(s)}
${verdict(s)}
</section>`)
  return htmlPage('tuntcp demo: how TCP connections end', summary + intro + sections.join('\n'))
}
