// `tuntcp demo` end to end: its own namespace inside ours, the five scenarios,
// exit status 0, and the observations in --json agreeing with RFC 9293.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, expect, it } from 'vitest'
import { requireFreshNetns } from './netns'

beforeAll(() => requireFreshNetns())

interface Observed {
  scenarios: Array<{ name: string; problems: string[]; clientError: string | null; rows: Array<{ event: string; client: string; server: string }> }>
}

it('shows all five scenarios matching RFC 9293, with both ends\' states', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tuntcp-demo-'))
  try {
    const json = join(dir, 'demo.json')
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>(resolve => {
      const child = spawn(process.execPath, ['bin/tuntcp.mjs', 'demo', '--json', json], { timeout: 60_000 })
      let stdout = ''
      child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
      child.on('close', code => resolve({ code, stdout }))
    })
    expect(stdout).toContain('all 5 scenarios matched RFC 9293')
    expect(code).toBe(0)
    const observed = JSON.parse(readFileSync(json, 'utf8')) as Observed
    expect(observed.scenarios.map(s => s.name)).toEqual(['client-closes-first', 'server-closes-first', 'simultaneous-close', 'abort', 'refused'])
    for (const s of observed.scenarios) expect(s.problems, s.name).toEqual([])
    const states = (name: string) => observed.scenarios.find(s => s.name === name)!.rows.map(r => `${r.client}/${r.server}`)
    // The classic four-way close, as the course notes draw it.
    expect(states('client-closes-first').slice(5)).toEqual([
      'FIN-WAIT-1/ESTABLISHED', 'FIN-WAIT-1/CLOSE-WAIT', 'FIN-WAIT-2/CLOSE-WAIT',
      'FIN-WAIT-2/LAST-ACK', 'TIME-WAIT/LAST-ACK', 'TIME-WAIT/CLOSED',
    ])
    expect(states('simultaneous-close')).toContain('CLOSING/CLOSING')
    expect(observed.scenarios.find(s => s.name === 'refused')!.clientError).toBe('ECONNREFUSED')
    // The ladder is drawn with both columns.
    expect(stdout).toMatch(/FIN-WAIT-2 +\|<-+ ACK seq=1 ack=2 -+\|/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
