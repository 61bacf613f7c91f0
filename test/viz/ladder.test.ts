// The demo's ladder as SVG: time down the page (long waits cut), arrows from the
// moment a segment left to the moment it arrived, states in their columns linked to
// RFC 9293 and the code; and the page that holds the ladders, the tables and the checks.
import { describe, expect, it } from 'vitest'
import { arcLinks } from '../../src/bin/demo/arcs'
import { demoPage, scenarioLadder } from '../../src/bin/demo/html'
import { ladderSvg, timeline, type LadderStep } from '../../src/viz/ladder'
import { FOUR_WAY_CLOSE } from './fixtures'

const step = (time: number, left: string, right: string, more: Partial<LadderStep> = {}): LadderStep =>
  ({ time, event: 'x', left, right, ...more })

describe('ladder', () => {
  it('runs time down at half a pixel per ms, keeps steps 40 px apart for their labels, cuts waits over 160 ms', () => {
    const steps = [
      step(0, 'CLOSED', 'LISTEN'),
      step(100, 'SYN-SENT', 'SYN-RECEIVED', { arrow: { from: 'left', sentAt: 10, label: 'SYN seq=0' } }),
      step(110, 'SYN-SENT', 'SYN-RECEIVED'),
      step(1110, 'ESTABLISHED', 'SYN-RECEIVED'),
    ]
    const { y, cuts } = timeline(steps)
    // 10 ms (a sending time, no label) is 5 px on; 110 ms is pushed down to 40 px below the step at 100.
    expect([0, 10, 100, 110, 1110].map(y)).toEqual([64, 69, 114, 154, 234])
    expect(cuts).toEqual([194]) // the 1000 ms gap, drawn as 80 px with a mark halfway
  })

  it('draws each segment as an arrow from its sending time to its arrival, labelled, slanted', () => {
    const svg = ladderSvg({
      left: { title: 'client', address: '10.0.0.1:1' }, right: { title: 'server', address: '10.0.0.2:7' },
      steps: [step(0, 'CLOSED', 'LISTEN'), step(100, 'SYN-SENT', 'SYN-RECEIVED', { arrow: { from: 'left', sentAt: 20, label: 'SYN seq=0' } }),
        step(200, 'ESTABLISHED', 'SYN-RECEIVED', { arrow: { from: 'right', sentAt: 100, label: 'RST seq=0', rst: true } })],
    }, 't')
    // Left column at x 270, right at 630; time 0 at y 64, 20 ms at 74, 100 ms at 114, 200 ms at 164.
    expect(svg).toContain('<line class="arrow" x1="270" y1="74" x2="630" y2="114" marker-end="url(#t-ah)"/>')
    expect(svg).toContain('<line class="arrow rst" x1="630" y1="114" x2="270" y2="164" marker-end="url(#t-ah-rst)"/>')
    // The label a third of the way along, turned with the arrow (atan(40 / 360) = 6.3 degrees).
    expect(svg).toContain('<text x="396" y="84" class="arrow-label" text-anchor="middle" transform="rotate(6.3 396 88)">SYN seq=0</text>')
    expect(svg).toContain('<text x="258" y="118" class="state" text-anchor="end">SYN-SENT</text>')
    expect(svg).toContain('<text x="642" y="118" class="state" text-anchor="start">SYN-RECEIVED</text>')
    // A state is written only when it changes: SYN-RECEIVED once.
    expect(svg.match(/>SYN-RECEIVED</g)).toHaveLength(1)
  })
})

describe('the demo page', () => {
  it('links each state change to its RFC 9293 section, and the stack\'s to the function', () => {
    expect(arcLinks('FIN-WAIT-1', 'FIN-WAIT-2', false, '../')).toEqual([
      { href: 'https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4', text: 'RFC 9293 3.10.7.4' },
      { href: '../src/stack/tcp/input.ts', text: 'input.ts checkAck' },
    ])
    expect(arcLinks('ESTABLISHED', 'CLOSED', true, '../')[1]!.text).toBe('input.ts onReset')
    expect(arcLinks('ESTABLISHED', 'CLOSED', false, '../')[1]!.text).toBe('user.ts abort')
    expect(arcLinks('TIME-WAIT', 'CLOSED', false, null)).toEqual([{ href: 'https://www.rfc-editor.org/rfc/rfc9293#section-3.10.8', text: 'RFC 9293 3.10.8' }])
  })

  it('draws the four-way close with both ends\' states and the kernel\'s arcs linked to the RFC only', () => {
    const ladder = scenarioLadder(FOUR_WAY_CLOSE, '../')
    const fw2 = ladder.steps[7]!
    expect(fw2).toMatchObject({ left: 'FIN-WAIT-2', right: 'CLOSE-WAIT', arrow: { from: 'right', label: 'ACK seq=1 ack=2' } })
    expect(fw2.links!.left).toEqual([{ href: 'https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4', text: 'RFC 9293 3.10.7.4' }])
    expect(fw2.links!.right).toBeUndefined() // the server stayed in CLOSE-WAIT
    expect(ladder.steps[10]!.links!.right!.map(l => l.text)).toEqual(['RFC 9293 3.10.7.4', 'input.ts checkAck']) // LAST-ACK -> CLOSED
  })

  it('holds, per scenario, the ladder, the table and the check; a mismatch shows in red', () => {
    const wrong = { ...FOUR_WAY_CLOSE, name: 'broken', rows: FOUR_WAY_CLOSE.rows.map(r => r.step === 7 ? { ...r, client: 'CLOSING' as const } : r), problems: ['step 7: saw CLOSING / CLOSE-WAIT'] }
    const html = demoPage([FOUR_WAY_CLOSE, wrong], 'test run')
    expect(html.match(/<svg /g)).toHaveLength(2)
    expect(html.match(/<table>/g)).toHaveLength(2)
    expect(html).toContain('<p class="bad">1 of 2 scenarios did not match: broken</p>')
    expect(html).toContain('<p class="ok">ok: matches RFC 9293</p>')
    expect(html).toContain('<tr class="bad" title="RFC 9293 says FIN-WAIT-2 / CLOSE-WAIT"><td>7</td>')
    expect(html).toContain('class="state wrong"')
    expect(html).toContain('href="https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4"')
  })
})
