// The Python subset of %{ }% blocks (python.ts, code.ts): Python's precedence and
// meaning for what Linux's scripts write, and a clear refusal for the rest.
import { describe, expect, it } from 'vitest'
import { emptyTcpInfo } from '../../../src/stack/tcp-info'
import { checkCodeNames, runCode } from '../../../src/testkit/script/code'
import { ScriptError } from '../../../src/testkit/script/errors'
import { evaluate, parsePython, runPython, type PyStmt, type PyValue } from '../../../src/testkit/script/python'

function value(expr: string, names: Record<string, PyValue> = {}): PyValue {
  const [stmt] = parsePython(expr, 1)
  if (stmt?.kind !== 'expr') throw new Error('not an expression')
  return evaluate(stmt.value, { lookup: n => names[n], assign: () => {}, print: () => {} }, 1)
}

function refusal(code: string): string {
  try {
    checkCodeNames(parsePython(code, 5), new Set())
  } catch (e) {
    if (e instanceof ScriptError) return e.message
    throw e
  }
  throw new Error('accepted')
}

describe('expressions', () => {
  it.each([
    ['1 + 2 * 3', 7], ['(1 + 2) * 3', 9], ['2 ** 3 ** 2', 512], ['-2 ** 2', -4],
    ['7 // 2', 3], ['-7 // 2', -4], ['7 % 3', 1], ['-7 % 3', 2], ['7 / 2', 3.5], ['0x10 + 1', 17],
    ['6 & 3', 2], ['6 | 3', 7], ['6 ^ 3', 5], ['1 << 4', 16], ['~0', -1], ['1 + 2 == 3', true],
    ['1 < 2 < 3', true], ['1 < 3 < 2', false], ['3 > 2 >= 2 != 1', true],
    ['not 0', true], ['1 and 0', 0], ['0 or 5', 5], ['not 1 == 2', true], ['1 < 2 and 2 < 1 or 7', 7],
    ['True + True', 2], ["'a' 'b'", 'ab'], ["'srtt=%d us' % 1500", 'srtt=1500 us'],
    ["'%s/%05.1f%%' % (3, 2.26)", '3/002.3%'], ['(1, 2) == (1, 2)', true], ['1.5e3', 1500],
  ])('%s is %j', (expr, expected) => {
    expect(value(expr)).toEqual(expected)
  })

  it('reads names, and tells a name without a value', () => {
    expect(value('tcpi_snd_cwnd * 2', { tcpi_snd_cwnd: 10 })).toBe(20)
    expect(() => value('x + 1')).toThrow("NameError: name 'x' is not defined")
    expect(() => value('1 / 0')).toThrow('ZeroDivisionError')
    expect(() => value("'a' - 1")).toThrow('TypeError')
  })
})

describe('statements', () => {
  it('assigns, prints, and asserts with a message', () => {
    const vars = new Map<string, PyValue>()
    const printed: string[] = []
    const env = { lookup: (n: string) => vars.get(n), assign: (n: string, v: PyValue) => vars.set(n, v), print: (t: string) => printed.push(t) }
    runPython(parsePython('x = 3; y = x * 2\nprint(y, "ok")\n  # a comment\nassert y == 6, y', 1), env)
    expect(printed).toEqual(['6 ok'])
    expect(() => runPython(parsePython('\n\nassert y < 6, "y is %d" % y', 10), env)).toThrow('AssertionError: y is 6')
  })

  it('keeps the line of each statement in a block', () => {
    const stmts: PyStmt[] = parsePython("\nassert 1\n\nassert 2, 'x'  # why\n", 7)
    expect(stmts.map(s => s.line)).toEqual([8, 10])
    expect(stmts[1]).toMatchObject({ kind: 'assert', source: "assert 2, 'x'" })
  })

  it('runs a block against TCP_INFO and names the fields a failed assert read', () => {
    const info = { ...emptyTcpInfo('ESTABLISHED'), snd_cwnd: 7 }
    const vars = new Map<string, PyValue>()
    const ok = parsePython('assert tcpi_state == TCP_ESTABLISHED and tcpi_snd_cwnd == 7', 1)
    expect(runCode(ok, info, vars, () => {})).toBeNull()
    const bad = parsePython('assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd', 4)
    expect(runCode(bad, info, vars, () => {})).toEqual({ line: 4, source: 'assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd', message: 'assertion failed: assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd (tcpi_snd_cwnd = 7)' })
    const msg = parsePython("assert tcpi_rtt > 5, 'srtt=%d us' % tcpi_rtt", 4)
    expect(runCode(msg, info, vars, () => {})?.message).toBe("assertion failed: assert tcpi_rtt > 5, 'srtt=%d us' % tcpi_rtt (tcpi_rtt = 0): srtt=0 us")
  })
})

describe('what a block may not do', () => {
  it.each([
    ['import os', 'unsupported Python: the statement or keyword import'],
    ['if tcpi_rtt: pass', 'unsupported Python: the statement or keyword if'],
    ['x = len(tcpi_rtt)', 'unsupported Python: calling len() (only print())'],
    ['x = os.system', 'unsupported Python: attribute access (.)'],
    ['x = [1]', 'unsupported Python: lists'],
    ['x += 1', 'unsupported Python: augmented assignment +='],
    ['assert 1 in (1, 2)', 'unsupported Python: the operator in'],
    ['assert tcpi_rcv_space == 10', "unsupported: tcpi_rcv_space, a field of Linux's tcp_info that tuntcp does not keep (it has tcpi_state, tcpi_ca_state"],
    ['assert frob == 1', 'name frob is not defined in the %{ }% block'],
    ['assert 1 2', 'one statement per line'],
  ])('refuses %j', (code, message) => {
    const m = refusal(code)
    expect(m).toContain(message)
    expect(m).toMatch(/^line 5: /)
  })

  it('knows variables from earlier blocks', () => {
    const names = new Set<string>()
    checkCodeNames(parsePython('base = tcpi_total_retrans', 1), names)
    expect(() => checkCodeNames(parsePython('assert tcpi_total_retrans == base + 1', 2), names)).not.toThrow()
  })
})
