// The Python of packetdrill's `%{ ... }%` blocks, the little of it Linux's scripts
// use, without a Python interpreter: `assert X` and `assert X, message`, simple
// assignments, print(), and expressions over numbers, strings and the tcpi_*
// fields of TCP_INFO (comparisons, chained as a < b < c, arithmetic, bitwise
// operators, and/or/not, parentheses, 'text %d' % value). A hand-written tokenizer,
// a recursive-descent parser (Python's own precedence, from its grammar) and an
// evaluator. Anything else is refused at parse time, naming what it is.

import { ScriptError } from './errors.js'

export type PyValue = number | string | boolean | null | PyValue[]

export type PyExpr =
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'const'; value: boolean | null }
  | { kind: 'name'; name: string }
  | { kind: 'tuple'; items: PyExpr[] }
  | { kind: 'unary'; op: '-' | '+' | '~' | 'not'; operand: PyExpr }
  | { kind: 'binary'; op: string; left: PyExpr; right: PyExpr }
  | { kind: 'bool'; op: 'and' | 'or'; left: PyExpr; right: PyExpr }
  /** a < b <= c: each comparison on the operands beside it, all must hold. */
  | { kind: 'compare'; first: PyExpr; ops: string[]; rest: PyExpr[] }

export type PyStmt =
  | { kind: 'assert'; line: number; source: string; test: PyExpr; message: PyExpr | null }
  | { kind: 'assign'; line: number; name: string; value: PyExpr }
  | { kind: 'print'; line: number; args: PyExpr[] }
  | { kind: 'expr'; line: number; value: PyExpr }

interface Tok {
  kind: 'num' | 'str' | 'name' | 'op' | 'end' | 'eof'
  text: string
  value: number
  line: number
  /** Where the token starts and ends in the block, for the source text of an assert. */
  at: number
  end: number
}

const OPS = ['**', '//', '==', '!=', '<=', '>=', '<<', '>>', '+=', '-=', '*=', '/=', '+', '-', '*', '/', '%', '<', '>', '(', ')', ',', '=', '&', '|', '^', '~', ';', '[', ']', '{', '}', '.', ':', '@', '!']
/** Python keywords the subset has no place for: named when refused. */
const KEYWORDS = new Set(['if', 'elif', 'else', 'for', 'while', 'def', 'class', 'return', 'import', 'from', 'lambda', 'with', 'try', 'except', 'finally', 'raise', 'global', 'nonlocal', 'del', 'pass', 'break', 'continue', 'yield', 'in', 'is', 'async', 'await'])

const REFUSE_HINT = 'the runner evaluates assert, assignments, print() and expressions of tcpi_ fields (docs/scripts.md)'

function tokenize(code: string, line: number): Tok[] {
  const toks: Tok[] = []
  let i = 0
  let depth = 0 // inside brackets a newline does not end a statement
  const push = (kind: Tok['kind'], text: string, at: number, value = 0, end = at + text.length) => toks.push({ kind, text, value, line, at, end })
  while (i < code.length) {
    const c = code[i]!
    if (c === '\n') {
      if (depth === 0) push('end', '\n', i)
      line++
      i++
      continue
    }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue }
    if (c === '\\' && code[i + 1] === '\n') { line++; i += 2; continue }
    if (c === '#') { while (i < code.length && code[i] !== '\n') i++; continue }
    const num = /^(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)/.exec(code.slice(i))
    if (num !== null && !(c === '.' && !/\d/.test(code[i + 1] ?? ''))) {
      const t = num[0]
      const value = /^0[xob]/i.test(t) ? Number(t.toLowerCase()) : Number(t)
      push('num', t, i, value)
      i += t.length
      continue
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(code.slice(i))
    if (name !== null) {
      push('name', name[0], i)
      i += name[0].length
      continue
    }
    if (c === '"' || c === "'") {
      if (code.startsWith(c.repeat(3), i)) throw new ScriptError(line, `unsupported Python: triple-quoted strings (${REFUSE_HINT})`)
      let j = i + 1
      let s = ''
      while (j < code.length && code[j] !== c && code[j] !== '\n') {
        if (code[j] === '\\') {
          const e = code[j + 1] ?? ''
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e
          j += 2
          continue
        }
        s += code[j++]
      }
      if (code[j] !== c) throw new ScriptError(line, 'unterminated string in a %{ }% block')
      push('str', s, i, 0, j + 1)
      i = j + 1
      continue
    }
    const op = OPS.find(o => code.startsWith(o, i))
    if (op === undefined) throw new ScriptError(line, `unexpected character ${JSON.stringify(c)} in a %{ }% block`)
    if (op === '(' || op === '[' || op === '{') depth++
    if (op === ')' || op === ']' || op === '}') depth = Math.max(0, depth - 1)
    push('op', op, i)
    i += op.length
  }
  push('eof', '', i)
  return toks
}

/** Parse the code of one `%{ ... }%` block that starts on `line`; throws ScriptError for anything outside the subset. */
export function parsePython(code: string, line: number): PyStmt[] {
  return new PyParser(code, tokenize(code, line)).program()
}

class PyParser {
  private pos = 0
  constructor(private readonly code: string, private readonly toks: Tok[]) {}

  program(): PyStmt[] {
    const out: PyStmt[] = []
    for (;;) {
      while (this.isOp(';') || this.peek().kind === 'end') this.next()
      if (this.peek().kind === 'eof') return out
      out.push(this.statement())
      const t = this.peek()
      if (!(t.kind === 'end' || t.kind === 'eof' || this.isOp(';'))) throw this.refuse(t, 'one statement per line (or separated by ;)')
    }
  }

  private statement(): PyStmt {
    const t = this.peek()
    if (t.kind === 'name' && t.text === 'assert') {
      this.next()
      const test = this.expr()
      let message: PyExpr | null = null
      if (this.isOp(',')) {
        this.next()
        message = this.expr()
      }
      const end = this.toks[this.pos - 1]!.end // the last token of the assert: no comment after it
      return { kind: 'assert', line: t.line, source: this.code.slice(t.at, end), test, message }
    }
    if (t.kind === 'name' && t.text === 'print' && this.isOp('(', 1)) {
      this.next()
      this.next()
      const args: PyExpr[] = []
      while (!this.isOp(')')) {
        args.push(this.expr())
        if (!this.isOp(',')) break
        this.next()
      }
      this.expectOp(')')
      return { kind: 'print', line: t.line, args }
    }
    if (t.kind === 'name' && this.isOp('=', 1)) {
      this.checkName(t)
      this.next()
      this.next()
      return { kind: 'assign', line: t.line, name: t.text, value: this.expr() }
    }
    if (t.kind === 'name' && this.peek(1).kind === 'op' && ['+=', '-=', '*=', '/='].includes(this.peek(1).text)) {
      throw this.refuse(this.peek(1), `augmented assignment ${this.peek(1).text}`)
    }
    return { kind: 'expr', line: t.line, value: this.expr() }
  }

  // Python's precedence, lowest first: or, and, not, comparisons, |, ^, &, shifts, + -, * / // %, unary, **.
  private expr(): PyExpr {
    return this.orTest()
  }

  private orTest(): PyExpr {
    let left = this.andTest()
    while (this.isName('or')) {
      this.next()
      left = { kind: 'bool', op: 'or', left, right: this.andTest() }
    }
    return left
  }

  private andTest(): PyExpr {
    let left = this.notTest()
    while (this.isName('and')) {
      this.next()
      left = { kind: 'bool', op: 'and', left, right: this.notTest() }
    }
    return left
  }

  private notTest(): PyExpr {
    if (this.isName('not')) {
      this.next()
      return { kind: 'unary', op: 'not', operand: this.notTest() }
    }
    return this.comparison()
  }

  private comparison(): PyExpr {
    const first = this.binary(0)
    const ops: string[] = []
    const rest: PyExpr[] = []
    for (;;) {
      const t = this.peek()
      if (t.kind === 'op' && ['<', '>', '==', '!=', '<=', '>='].includes(t.text)) {
        this.next()
        ops.push(t.text)
        rest.push(this.binary(0))
        continue
      }
      if (t.kind === 'name' && (t.text === 'in' || t.text === 'is')) throw this.refuse(t, `the operator ${t.text}`)
      break
    }
    return ops.length === 0 ? first : { kind: 'compare', first, ops, rest }
  }

  private static readonly LEVELS: string[][] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '//', '%']]

  private binary(level: number): PyExpr {
    if (level === PyParser.LEVELS.length) return this.unary()
    let left = this.binary(level + 1)
    for (;;) {
      const t = this.peek()
      if (t.kind !== 'op' || !PyParser.LEVELS[level]!.includes(t.text)) return left
      this.next()
      left = { kind: 'binary', op: t.text, left, right: this.binary(level + 1) }
    }
  }

  private unary(): PyExpr {
    const t = this.peek()
    if (t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '~')) {
      this.next()
      return { kind: 'unary', op: t.text, operand: this.unary() }
    }
    return this.power()
  }

  private power(): PyExpr {
    const base = this.atom()
    if (!this.isOp('**')) return base
    this.next()
    return { kind: 'binary', op: '**', left: base, right: this.unary() }
  }

  private atom(): PyExpr {
    const t = this.next()
    let e: PyExpr
    switch (t.kind) {
      case 'num': e = { kind: 'num', value: t.value }; break
      case 'str': {
        let value = t.text
        while (this.peek().kind === 'str') value += this.next().text // 'a' 'b' is 'ab'
        e = { kind: 'str', value }
        break
      }
      case 'name':
        if (t.text === 'True' || t.text === 'False') e = { kind: 'const', value: t.text === 'True' }
        else if (t.text === 'None') e = { kind: 'const', value: null }
        else {
          this.checkName(t)
          e = { kind: 'name', name: t.text }
        }
        if (e.kind === 'name' && this.isOp('(')) throw this.refuse(t, `calling ${t.text}() (only print())`)
        break
      case 'op':
        if (t.text === '(') {
          if (this.isOp(')')) { this.next(); e = { kind: 'tuple', items: [] }; break }
          const items = [this.orTest()]
          let tuple = false
          while (this.isOp(',')) {
            this.next()
            tuple = true
            if (this.isOp(')')) break
            items.push(this.orTest())
          }
          this.expectOp(')')
          e = tuple ? { kind: 'tuple', items } : items[0]!
          break
        }
        if (t.text === '[' || t.text === '{') throw this.refuse(t, t.text === '[' ? 'lists' : 'dicts and sets')
        throw this.refuse(t, `${t.text} here`)
      default:
        throw new ScriptError(t.line, `expected an expression in a %{ }% block, found ${t.kind === 'eof' || t.kind === 'end' ? 'the end of the line' : t.text}`)
    }
    if (this.isOp('.')) throw this.refuse(this.peek(), 'attribute access (.)')
    if (this.isOp('[')) throw this.refuse(this.peek(), 'subscripts ([ ])')
    return e
  }

  private checkName(t: Tok): void {
    if (KEYWORDS.has(t.text)) throw this.refuse(t, `the statement or keyword ${t.text}`)
  }

  private refuse(t: Tok, what: string): ScriptError {
    return new ScriptError(t.line, `unsupported Python: ${what} (${REFUSE_HINT})`)
  }

  private peek(ahead = 0): Tok {
    return this.toks[Math.min(this.pos + ahead, this.toks.length - 1)]!
  }

  private next(): Tok {
    const t = this.peek()
    if (this.pos < this.toks.length - 1) this.pos++
    return t
  }

  private isOp(text: string, ahead = 0): boolean {
    const t = this.peek(ahead)
    return t.kind === 'op' && t.text === text
  }

  private isName(text: string): boolean {
    const t = this.peek()
    return t.kind === 'name' && t.text === text
  }

  private expectOp(text: string): void {
    const t = this.next()
    if (t.kind !== 'op' || t.text !== text) throw new ScriptError(t.line, `expected '${text}' in a %{ }% block, found ${t.kind === 'eof' || t.kind === 'end' ? 'the end of the line' : t.text}`)
  }
}

/** The names an expression or statement list reads, in order (to check them before running). */
export function namesRead(stmts: readonly PyStmt[]): Array<{ name: string; line: number; assigned: boolean }> {
  const out: Array<{ name: string; line: number; assigned: boolean }> = []
  const walk = (e: PyExpr | null, line: number): void => {
    if (e === null) return
    switch (e.kind) {
      case 'name': out.push({ name: e.name, line, assigned: false }); break
      case 'tuple': e.items.forEach(i => walk(i, line)); break
      case 'unary': walk(e.operand, line); break
      case 'binary': case 'bool': walk(e.left, line); walk(e.right, line); break
      case 'compare': walk(e.first, line); e.rest.forEach(r => walk(r, line)); break
      default: break
    }
  }
  for (const s of stmts) {
    if (s.kind === 'assert') { walk(s.test, s.line); walk(s.message, s.line) }
    if (s.kind === 'print') s.args.forEach(a => walk(a, s.line))
    if (s.kind === 'expr') walk(s.value, s.line)
    if (s.kind === 'assign') { walk(s.value, s.line); out.push({ name: s.name, line: s.line, assigned: true }) }
  }
  return out
}

// ---- evaluation ----

/** A failed assert or an error while evaluating (a Python exception), at its line. */
export class PyError extends Error {
  /** For a failed assert: true, and its message's value, if it has one. */
  assertion = false
  assertMessage: string | null = null
  constructor(readonly line: number, message: string) {
    super(message)
    this.name = 'PyError'
  }
}

export interface PyEnv {
  /** A name's value (tcpi_ fields, constants, variables), or undefined if it has none. */
  lookup(name: string): PyValue | undefined
  assign(name: string, value: PyValue): void
  print(text: string): void
}

/** Run the statements; throws PyError at the first failed assert or error. */
export function runPython(stmts: readonly PyStmt[], env: PyEnv): void {
  for (const s of stmts) {
    const ev = (e: PyExpr) => evaluate(e, env, s.line)
    switch (s.kind) {
      case 'assign': env.assign(s.name, ev(s.value)); break
      case 'print': env.print(s.args.map(a => str(ev(a))).join(' ')); break
      case 'expr': ev(s.value); break
      case 'assert':
        if (!truthy(ev(s.test))) {
          const error = new PyError(s.line, `AssertionError${s.message === null ? '' : `: ${str(ev(s.message))}`}`)
          error.assertion = true
          error.assertMessage = s.message === null ? null : str(ev(s.message))
          throw error
        }
        break
    }
  }
}

export function evaluate(e: PyExpr, env: PyEnv, line: number): PyValue {
  const ev = (x: PyExpr) => evaluate(x, env, line)
  switch (e.kind) {
    case 'num': case 'str': case 'const': return e.value
    case 'tuple': return e.items.map(ev)
    case 'name': {
      const v = env.lookup(e.name)
      if (v === undefined) throw new PyError(line, `NameError: name '${e.name}' is not defined`)
      return v
    }
    case 'unary': {
      const v = ev(e.operand)
      if (e.op === 'not') return !truthy(v)
      const n = num(v, e.op, line)
      if (e.op === '~') return ~n
      return e.op === '-' ? -n : n
    }
    case 'bool': {
      // Python's and/or give an operand, not a boolean.
      const left = ev(e.left)
      if (e.op === 'and') return truthy(left) ? ev(e.right) : left
      return truthy(left) ? left : ev(e.right)
    }
    case 'compare': {
      let left = ev(e.first)
      for (let i = 0; i < e.ops.length; i++) {
        const right = ev(e.rest[i]!)
        if (!compare(e.ops[i]!, left, right, line)) return false
        left = right
      }
      return true
    }
    case 'binary': return binary(e.op, ev(e.left), ev(e.right), line)
  }
}

function binary(op: string, a: PyValue, b: PyValue, line: number): PyValue {
  if (op === '%' && typeof a === 'string') return format(a, Array.isArray(b) ? b : [b], line)
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b
  const x = num(a, op, line)
  const y = num(b, op, line)
  const int = Number.isInteger(x) && Number.isInteger(y)
  const zero = () => { throw new PyError(line, 'ZeroDivisionError: division by zero') }
  switch (op) {
    case '+': return x + y
    case '-': return x - y
    case '*': return x * y
    case '/': return y === 0 ? zero() : x / y
    case '//': return y === 0 ? zero() : Math.floor(x / y)
    case '%': return y === 0 ? zero() : x - y * Math.floor(x / y) // the sign of the divisor, as Python
    case '**': return x ** y
    case '&': case '|': case '^': case '<<': case '>>': {
      if (!int) throw new PyError(line, `TypeError: ${op} needs integers`)
      const [p, q] = [BigInt(x), BigInt(y)]
      const r = op === '&' ? p & q : op === '|' ? p | q : op === '^' ? p ^ q : op === '<<' ? p << q : p >> q
      return Number(r)
    }
  }
  throw new PyError(line, `unsupported operator ${op}`)
}

function compare(op: string, a: PyValue, b: PyValue, line: number): boolean {
  if (op === '==' || op === '!=') {
    const same = typeof a === 'string' || typeof b === 'string' || Array.isArray(a) || a === null || b === null
      ? JSON.stringify(a) === JSON.stringify(b)
      : num(a, op, line) === num(b, op, line)
    return op === '==' ? same : !same
  }
  if (typeof a === 'string' && typeof b === 'string') {
    return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b
  }
  const x = num(a, op, line)
  const y = num(b, op, line)
  return op === '<' ? x < y : op === '>' ? x > y : op === '<=' ? x <= y : x >= y
}

function num(v: PyValue, op: string, line: number): number {
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0 // a bool is an int in Python
  throw new PyError(line, `TypeError: ${op} on ${typeName(v)}`)
}

function typeName(v: PyValue): string {
  if (v === null) return 'None'
  if (Array.isArray(v)) return 'a tuple'
  return typeof v === 'string' ? 'a string' : 'a number'
}

export function truthy(v: PyValue): boolean {
  if (Array.isArray(v)) return v.length > 0
  return v !== null && v !== 0 && v !== false && v !== ''
}

/** A value as print() and str() show it. */
export function str(v: PyValue): string {
  if (v === null) return 'None'
  if (v === true) return 'True'
  if (v === false) return 'False'
  if (Array.isArray(v)) return `(${v.map(x => (typeof x === 'string' ? `'${x}'` : str(x))).join(', ')}${v.length === 1 ? ',' : ''})`
  if (typeof v === 'number' && !Number.isInteger(v)) return String(v)
  return String(v)
}

/** printf-style formatting, `'srtt=%d us' % tcpi_rtt`: %d %i %u %s %r %x %X %o %f %e %g %%, with flags, width and precision. */
function format(template: string, args: PyValue[], line: number): string {
  let k = 0
  const out = template.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([diusrxXofeEgG%])/g, (_m, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%'
    if (k >= args.length) throw new PyError(line, 'TypeError: not enough arguments for format string')
    const v = args[k++]!
    let s: string
    if (conv === 's' || conv === 'r') s = conv === 'r' && typeof v === 'string' ? `'${v}'` : str(v)
    else {
      const n = num(v, '%', line)
      switch (conv) {
        case 'x': s = Math.trunc(n).toString(16); break
        case 'X': s = Math.trunc(n).toString(16).toUpperCase(); break
        case 'o': s = Math.trunc(n).toString(8); break
        case 'f': s = n.toFixed(prec === undefined ? 6 : Number(prec)); break
        case 'e': case 'E': s = n.toExponential(prec === undefined ? 6 : Number(prec)); if (conv === 'E') s = s.toUpperCase(); break
        case 'g': case 'G': s = String(Number(n.toPrecision(prec === undefined ? 6 : Math.max(1, Number(prec))))); break
        default: s = String(Math.trunc(n))
      }
      if (flags.includes('+') && n >= 0) s = `+${s}`
    }
    const w = width === undefined ? 0 : Number(width)
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : flags.includes('0') && conv !== 's' ? s.padStart(w, '0') : s.padStart(w)
    return s
  })
  if (k < args.length) throw new PyError(line, 'TypeError: not all arguments converted during string formatting')
  return out
}
