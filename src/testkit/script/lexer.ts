// The tokens of packetdrill's script language, as its flex lexer makes them:
// comments (// and /* */) and whitespace skipped, numbers, words, strings,
// `...`, --options, and every other character on its own. Each token keeps its
// line, so every error can say "line N".

import { ScriptError } from './errors.js'

export type TokenKind =
  | 'int' // 42, -1, 0x1f
  | 'float' // 0.100, .1, -1.5
  | 'word' // socket, SOCK_STREAM, S, sackOK
  | 'string' // "text"
  | 'ipv4' // 192.0.2.1
  | 'command' // `shell command`
  | 'code' // %{ python }%
  | 'option' // --tolerance_usecs
  | 'ellipsis' // ...
  | 'punct' // any other single character: < > . : ( ) [ ] { } , = | + ~ * -
  | 'eof'

export interface Token {
  kind: TokenKind
  /** The text as written (for strings and commands: without the quotes; a command keeps its backslashes). */
  text: string
  /** int and float tokens: the value. */
  value: number
  line: number
}

const WORD = /[A-Za-z0-9_]/

/** Split a script into tokens; throws ScriptError on an unterminated string or comment. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  let line = 1
  const n = source.length
  const push = (kind: TokenKind, text: string, value = 0, at = line) => tokens.push({ kind, text, value, line: at })

  while (i < n) {
    const c = source[i]!
    if (c === '\n') { line++; i++; continue }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue }
    if (c === '/' && source[i + 1] === '/') {
      while (i < n && source[i] !== '\n') i++
      continue
    }
    if (c === '/' && source[i + 1] === '*') {
      const start = line
      const end = source.indexOf('*/', i + 2)
      if (end < 0) throw new ScriptError(start, 'unterminated /* comment')
      for (let j = i; j < end; j++) if (source[j] === '\n') line++
      i = end + 2
      continue
    }
    if (c === '%' && source[i + 1] === '{') {
      const start = line
      const end = source.indexOf('}%', i + 2)
      if (end < 0) throw new ScriptError(start, 'unterminated %{ code }% block')
      const text = source.slice(i + 2, end)
      for (const ch of text) if (ch === '\n') line++
      push('code', text, 0, start) // untrimmed: python.ts counts its lines from the %{
      i = end + 2
      continue
    }
    if (c === '`') {
      // A shell line is kept as written, backslashes and all: shell.ts reads it as sh would.
      const start = line
      const end = source.indexOf('`', i + 1)
      if (end < 0) throw new ScriptError(start, 'unterminated `command`')
      const text = source.slice(i + 1, end)
      for (const ch of text) if (ch === '\n') line++
      push('command', text, 0, start)
      i = end + 1
      continue
    }
    if (c === '"') {
      const start = line
      let j = i + 1
      let text = ''
      while (j < n && source[j] !== c) {
        if (source[j] === '\\' && j + 1 < n) { text += source[j + 1]; j += 2; continue }
        if (source[j] === '\n') line++
        text += source[j]
        j++
      }
      if (j >= n) throw new ScriptError(start, 'unterminated string')
      push('string', text, 0, start)
      i = j + 1
      continue
    }
    if (c === '.' && source.startsWith('...', i)) {
      // `.1...` is a float then an ellipsis; `...` itself only when not followed by a digit run that makes a float.
      push('ellipsis', '...')
      i += 3
      continue
    }
    if (c === '-' && source[i + 1] === '-' && WORD.test(source[i + 2] ?? '')) {
      let j = i + 2
      while (j < n && WORD.test(source[j]!)) j++
      push('option', source.slice(i + 2, j))
      i = j
      continue
    }
    // Numbers, dotted quads and words, by longest match as flex does.
    const m = /^(?:\d+\.\d+\.\d+\.\d+(?![.\d])|0x[0-9a-fA-F]+(?![A-Za-z0-9_])|-?\d*\.\d+|-?\d+(?![A-Za-z0-9_])|[A-Za-z0-9_]+)/.exec(source.slice(i, i + 64))
    if (m !== null && m[0] !== '-') {
      const text = m[0]
      if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) push('ipv4', text)
      else if (/^0x/.test(text)) push('int', text, parseInt(text.slice(2), 16))
      else if (/^-?\d*\.\d+$/.test(text)) push('float', text, Number(text))
      else if (/^-?\d+$/.test(text)) push('int', text, Number(text))
      else push('word', text)
      i += text.length
      continue
    }
    push('punct', c)
    i++
  }
  push('eof', '', 0)
  return tokens
}
