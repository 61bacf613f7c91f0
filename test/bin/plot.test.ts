// tuntcp plot: a --trace-json file in, an SVG or HTML file out; one clear line (and
// the right exit status) for each mistake. main() runs in-process, as in script.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it, vi } from 'vitest'
import { JsonTracer } from '../../src/bin/trace-json'
import { main } from '../../src/bin/main'
import { B, twoStacks } from '../helpers/two-stacks'
import { runFor, runUntil } from '../helpers/virtual-time'

async function run(argv: string[]) {
  const err: string[] = []
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')) })
  try {
    return { code: await main(argv), err: err.join('\n') }
  } finally {
    error.mockRestore()
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tuntcp-plot-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const path = (name: string) => join(dir, name)

/** Two connections to chargen-like servers, traced at the server. */
async function traceFile(): Promise<string> {
  const net = twoStacks()
  const lines: string[] = []
  new JsonTracer(net.b, line => lines.push(line))
  net.b.createServer(s => s.end(Buffer.alloc(30_000, 'x'))).listen(19)
  for (let i = 0; i < 2; i++) {
    const sock = net.a.connect({ host: B, port: 19 })
    sock.resume()
    await runUntil(net.clock, () => sock.state === 'CLOSED')
  }
  await runFor(net.clock, 1)
  writeFileSync(path('t.jsonl'), lines.join('\n') + '\n')
  return path('t.jsonl')
}

it('draws every connection as SVG, one with --conn as HTML', async () => {
  const trace = await traceFile()
  expect(await run(['plot', trace, '-o', path('all.svg')])).toEqual({ code: 0, err: '' })
  const svg = readFileSync(path('all.svg'), 'utf8')
  expect(svg.match(/class="time-sequence"/g)).toHaveLength(2)
  expect(svg.match(/class="cwnd-chart"/g)).toHaveLength(2)
  expect(await run(['plot', trace, '--conn', '2', '-o', path('two.html')])).toEqual({ code: 0, err: '' })
  const html = readFileSync(path('two.html'), 'utf8')
  expect(html).toContain('<h2>Connection 2: 10.0.0.2:19 → 10.0.0.1:')
  expect(html).not.toContain('Connection 1:')
})

it('says in one line what is wrong: usage (2) or the file (1)', async () => {
  const trace = await traceFile()
  expect(await run(['plot', trace])).toEqual({ code: 2, err: 'tuntcp: plot needs -o OUT.svg or -o OUT.html' })
  expect(await run(['plot', '-o', path('x.svg')])).toEqual({ code: 2, err: 'tuntcp: plot needs one TRACE file (try: tuntcp help plot)' })
  expect(await run(['plot', trace, '-o', path('x.png')])).toEqual({ code: 2, err: `tuntcp: -o ${path('x.png')}: the name must end in .svg or .html` })
  expect(await run(['plot', trace, '--conn', '0', '-o', path('x.svg')])).toEqual({ code: 2, err: 'tuntcp: --conn must be a connection number from 1, got 0' })
  expect(await run(['plot', trace, '--conn', '3', '-o', path('x.svg')])).toEqual({ code: 1, err: `tuntcp: ${trace}: no connection 3 in the trace (it has 1, 2)` })
  expect(await run(['plot', path('none.jsonl'), '-o', path('x.svg')])).toEqual({ code: 1, err: `tuntcp: cannot read ${path('none.jsonl')}: ENOENT` })
  writeFileSync(path('bad.jsonl'), '{"type":"header","schema":"tuntcp-trace","version":9}\n')
  expect(await run(['plot', path('bad.jsonl'), '-o', path('x.svg')])).toEqual({ code: 1, err: `tuntcp: ${path('bad.jsonl')}: line 1: trace schema version 9, this tuntcp reads version 1` })
  expect(existsSync(path('x.svg'))).toBe(false)
})
