// tuntcp script: "ok  FILE" or the first mismatch per script, a count, and
// exit status 1 when any script fails. main() runs in-process, as in args.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { main } from '../../src/bin/main'
import { parseTrace } from '../../src/viz/trace'

async function run(argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')) })
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')) })
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') }
  } finally {
    log.mockRestore()
    error.mockRestore()
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tuntcp-script-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const write = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const OPEN = `0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
`
const good = write('good.pkt', `${OPEN}+0  > S. 0:0(0) ack 1 <...>\n`)
const bad = write('bad.pkt', `${OPEN}+0  > S. 0:0(0) ack 2 <...>\n`)

describe('tuntcp script', () => {
  it('prints ok per passing script and the count, exit 0', async () => {
    expect(await run(['script', good])).toEqual({ code: 0, out: `ok  ${good}\n1 passed, 0 failed`, err: '' })
  })

  it('prints the first mismatch of a failing script, exit 1', async () => {
    const result = await run(['script', good, bad])
    expect(result.code).toBe(1)
    expect(result.out).toBe([
      `ok  ${good}`,
      `FAIL ${bad}`,
      '  line 5: +0  > S. 0:0(0) ack 2 <...>',
      '    ack: expected 2, got 1',
      '    expected: S. 0:0(0) ack 2 <...> at 0.000 s (±4 ms)',
      '    actual:   S. 0:0(0) ack 1 win 65535 <mss 1460> at 0.000 s',
      '1 passed, 1 failed',
    ].join('\n'))
  })

  it('prints every event with -v', async () => {
    const result = await run(['script', '-v', good])
    expect(result.out.split('\n')).toEqual([
      good,
      '       0.000 s  0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
      '       0.000 s  +0  bind(3, ..., ...) = 0',
      '       0.000 s  +0  listen(3, 1) = 0',
      '       0.000 s  +0  < S 0:0(0) win 65535 <mss 1460>',
      '       0.000 s  > S. 0:0(0) ack 1 win 65535 <mss 1460>',
      `ok  ${good}`,
      '1 passed, 0 failed',
    ])
  })

  it('reports a script the parser refuses as a failure at its line', async () => {
    const typo = write('typo.pkt', '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 lisen(3, 1) = 0\n')
    const result = await run(['script', typo])
    expect(result.code).toBe(1)
    expect(result.out).toContain(`FAIL ${typo}\n  line 2: +0 lisen(3, 1) = 0\n    unsupported: system call lisen()`)
  })

  it('--trace-json writes the stack\'s trace of the script in virtual time', async () => {
    const out = join(dir, 'good.jsonl')
    expect(await run(['script', '--trace-json', out, good])).toMatchObject({ code: 0, out: `ok  ${good}\n1 passed, 0 failed` })
    const { header, records } = parseTrace(readFileSync(out, 'utf8'))
    expect(header).toMatchObject({ version: 1, stack: '192.168.0.1' })
    expect(records.map(r => r.type === 'state' ? `${r.from}>${r.to}` : `${r.type} ${r.type === 'segment' ? `${r.dir} ${r.flags}` : ''}`)).toEqual([
      'segment in SYN', 'LISTEN>SYN-RECEIVED', 'segment out SYN,ACK',
    ])
    expect(records[0]).toMatchObject({ t: 0, src: '192.0.2.1', dst: '192.168.0.1', seq: 0, win: 65535, options: { mss: 1460 } })
    expect(await run(['script', '--trace-json', out, good, bad])).toMatchObject({ code: 2, err: 'tuntcp: --trace-json traces one script at a time: give one FILE' })
    expect(await run(['script', '--trace-json', join(dir, 'no/such/dir.jsonl'), good])).toMatchObject({ code: 1, err: `tuntcp: cannot write the trace file ${join(dir, 'no/such/dir.jsonl')}: ENOENT` })
  })

  it('is a usage error (exit 2) without a file or with a missing one', async () => {
    expect(await run(['script'])).toMatchObject({ code: 2, err: expect.stringContaining('script needs at least one FILE') })
    expect(await run(['script', join(dir, 'nope.pkt')])).toMatchObject({ code: 2, err: expect.stringContaining('cannot read') })
  })
})
