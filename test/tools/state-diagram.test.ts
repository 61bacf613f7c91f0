// The committed state diagram must be the one the transition table draws today.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { TRANSITIONS } from '../../src/stack/tcp/state'
import { DIAGRAM_PATH, stateDiagram } from '../../tools/state-diagram'

it('docs/state-machine.svg matches TRANSITIONS (regenerate with npm run docs:diagram)', () => {
  const committed = readFileSync(DIAGRAM_PATH, 'utf8')
  expect(committed === stateDiagram(), 'docs/state-machine.svg is stale: run npm run docs:diagram').toBe(true)
})

it('draws one arc per transition, each titled with its event', () => {
  const svg = stateDiagram()
  expect(svg.match(/<path class="arc"/g)).toHaveLength(TRANSITIONS.length)
  for (const t of TRANSITIONS) expect(svg).toContain(`<title>${t.from} -&gt; ${t.to}: ${t.event}</title>`)
})
