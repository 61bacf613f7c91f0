// The tokens of packetdrill's language: what the parser builds on.
import { describe, expect, it } from 'vitest'
import { ScriptError } from '../../../src/testkit/script/errors'
import { tokenize } from '../../../src/testkit/script/lexer'

const kinds = (source: string) => tokenize(source).map(t => `${t.kind}:${t.text}`)

describe('tokenize', () => {
  it('splits a segment line into times, punctuation, words and numbers', () => {
    expect(kinds('+.1 < P. 1:11(10) ack 1 win 65535')).toEqual([
      'punct:+', 'float:.1', 'punct:<', 'word:P', 'punct:.', 'int:1', 'punct::', 'int:11', 'punct:(', 'int:10', 'punct:)',
      'word:ack', 'int:1', 'word:win', 'int:65535', 'eof:',
    ])
  })

  it('reads numbers as packetdrill does: floats, hex, negatives', () => {
    const t = tokenize('0.100 .5 0x1f -1 42')
    expect(t.map(x => [x.kind, x.value])).toEqual([['float', 0.1], ['float', 0.5], ['int', 31], ['int', -1], ['int', 42], ['eof', 0]])
  })

  it('keeps `...`, strings, options and dotted quads whole', () => {
    expect(kinds('--tolerance_usecs=10000 connect(3, ..., ...) "ab\\"c" 192.0.2.1')).toEqual([
      'option:tolerance_usecs', 'punct:=', 'int:10000', 'word:connect', 'punct:(', 'int:3', 'punct:,', 'ellipsis:...', 'punct:,',
      'ellipsis:...', 'punct:)', 'string:ab"c', 'ipv4:192.0.2.1', 'eof:',
    ])
  })

  it('keeps a shell line and a %{ }% block as written, and counts their lines', () => {
    const t = tokenize('`a \\\n b`\n%{\nassert 1\n}%\n0')
    expect(t.map(x => [x.kind, x.text, x.line])).toEqual([['command', 'a \\\n b', 1], ['code', '\nassert 1\n', 3], ['int', '0', 6], ['eof', '', 6]])
  })

  it('reads a time range as two times and a tilde', () => {
    expect(kinds('+0~+.2')).toEqual(['punct:+', 'int:0', 'punct:~', 'punct:+', 'float:.2', 'eof:'])
    expect(kinds('0.1~0.3')).toEqual(['float:0.1', 'punct:~', 'float:0.3', 'eof:'])
  })

  it('reads the end time of a blocking call after ...', () => {
    expect(kinds('+.1...0.200 read')).toEqual(['punct:+', 'float:.1', 'ellipsis:...', 'float:0.200', 'word:read', 'eof:'])
    expect(kinds('+0...1 read')).toEqual(['punct:+', 'int:0', 'ellipsis:...', 'int:1', 'word:read', 'eof:'])
  })

  it('skips // and /* */ comments but counts their lines', () => {
    const t = tokenize('// one\n/* two\nthree */ 0 socket\n+1')
    expect(t.map(x => [x.text, x.line])).toEqual([['0', 3], ['socket', 3], ['+', 4], ['1', 4], ['', 4]])
  })

  it('reports unterminated comments and strings at the line they start', () => {
    expect(() => tokenize('0\n/* never closed')).toThrow(new ScriptError(2, 'unterminated /* comment'))
    expect(() => tokenize('\n\n"open')).toThrow(new ScriptError(3, 'unterminated string'))
  })
})
