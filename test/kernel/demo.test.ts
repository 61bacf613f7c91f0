// `tuntcp demo` end to end: its own namespace inside ours, the six scenarios (the sixth over IPv6),
// exit status 0, the observations in --json agreeing with RFC 9293, and the --html
// page with a ladder per scenario, loading cleanly in headless chromium.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, expect, it } from 'vitest'
import { chromiumPath, inkShare, loadInChromium } from '../helpers/browser'
import { requireFreshNetns } from './netns'

beforeAll(() => requireFreshNetns())

interface Observed {
  scenarios: Array<{ name: string; problems: string[]; clientError: string | null; rows: Array<{ time: number; event: string; client: string; server: string }> }>
}

it('shows all six scenarios matching RFC 9293, with both ends\' states, over IPv4 and IPv6', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tuntcp-demo-'))
  try {
    const json = join(dir, 'demo.json')
    const html = join(dir, 'demo.html')
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>(resolve => {
      const child = spawn(process.execPath, ['bin/tuntcp.mjs', 'demo', '--json', json, '--html', html], { timeout: 60_000 })
      let stdout = ''
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
      child.on('close', code => resolve({ code, stdout }))
    })
    expect(stdout).toContain('all 6 scenarios matched RFC 9293')
    expect(code).toBe(0)
    const observed = JSON.parse(readFileSync(json, 'utf8')) as Observed
    expect(observed.scenarios.map(s => s.name)).toEqual(['client-closes-first', 'server-closes-first', 'simultaneous-close', 'abort', 'refused', 'ipv6'])
    for (const s of observed.scenarios) expect(s.problems, s.name).toEqual([])
    const states = (name: string) => observed.scenarios.find(s => s.name === name)!.rows.map(r => `${r.client}/${r.server}`)
    // The classic four-way close, as the course notes draw it.
    expect(states('client-closes-first').slice(5)).toEqual([
      'FIN-WAIT-1/ESTABLISHED', 'FIN-WAIT-1/CLOSE-WAIT', 'FIN-WAIT-2/CLOSE-WAIT',
      'FIN-WAIT-2/LAST-ACK', 'TIME-WAIT/LAST-ACK', 'TIME-WAIT/CLOSED',
    ])
    // The same close over IPv6, the kernel's states read from ss as [fd99::1]:port.
    expect(states('ipv6')).toEqual(states('client-closes-first'))
    expect(observed.scenarios.find(s => s.name === 'ipv6')!.rows.length).toBe(11)
    expect(states('simultaneous-close')).toContain('CLOSING/CLOSING')
    expect(observed.scenarios.find(s => s.name === 'refused')!.clientError).toBe('ECONNREFUSED')
    // The ladder is drawn with both columns.
    expect(stdout).toMatch(/FIN-WAIT-2 +\|<-+ ACK seq=1 ack=2 -+\|/)
    // The page: every scenario's ladder, table and check; each arrow from its sending time to its arrival.
    const page = readFileSync(html, 'utf8')
    expect(page).toContain('<p class="ok">All 6 scenarios matched RFC 9293.</p>')
    expect(page.match(/<svg /g)).toHaveLength(6)
    expect(page.match(/<table>/g)).toHaveLength(6)
    expect(page.match(/<p class="ok">ok: matches RFC 9293/g)).toHaveLength(6)
    expect(page).toMatch(/<line class="arrow rst" /) // the abort's and the refusal's RSTs
    expect(page).toContain('href="https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4"')
    expect(page).toMatch(/href="file:\/\/[^"]*\/src\/stack\/tcp\/input\.ts"/)
    for (const row of observed.scenarios.flatMap(s => s.rows)) expect(row.time).toBeTypeOf('number')
    if (chromiumPath() === null && !process.env.CI) {
      console.log('demo page not opened in a browser: chromium is not installed')
    } else {
      const loaded = await loadInChromium(html, 1000, 800)
      expect(loaded.errors).toEqual([])
      expect(loaded.requests).toEqual([])
      expect(inkShare(loaded.png, [0x1f, 0x5f, 0xbf]).colour).toBeGreaterThan(0.0005)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
