// Backquoted shell lines, interpreted and never executed. Linux's packetdrill
// scripts set up the kernel with them: `../common/defaults.sh`, `set_sysctls.py
// /proc/sys/net/ipv4/tcp_timestamps=0`, `sysctl -q net.ipv4.tcp_sack=0`. Here a
// small shell tokenizer reads the line as data (words, quotes, $((arithmetic)),
// `;` `&&` `||` and newlines, redirections to /dev/null), and each command it
// recognises becomes settings for the stack under test (sysctl.ts), or an nstat
// read of its counters that the runner does at the line's time (nstat.ts). Anything
// else is refused with one line naming it: nothing runs on the host, ever.

import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { LINUX_PROFILE, type TcpConfig } from '../../stack/tcp/config.js'
import { ScriptError } from './errors.js'
import { applySysctl, LINUX_DEFAULTS } from './sysctl.js'
import { nstatAction, type NstatAction } from './nstat.js'

/** One setting a shell line made, or a command accepted as changing nothing. */
export interface ShellEffect {
  /** The script line it came from. */
  line: number
  /** What it was, for -v: `sysctl net.ipv4.tcp_sack=0`, `ip tcp_metrics flush all`. */
  what: string
  /** Stack settings (src/stack/tcp/config.ts); empty for a command with no effect here. */
  patch: Partial<TcpConfig>
  /** Why this setting is not honoured or has no effect, when that is so. */
  note?: string
  /** An nstat command (nstat.ts): the runner does it at the line's time, with the stack's counters. */
  nstat?: NstatAction
  /** `ip tcp_metrics flush`: the stack forgets what it learnt per destination (its Fast Open cookies and MSS). */
  flushMetrics?: boolean
}

/** One simple command: its words, where it starts, and the operator joining it to the previous one. */
interface Command {
  argv: string[]
  /** Line offset from the start of the backquoted text. */
  offset: number
  /** How it joins the command before: ';' (or a newline), '&&', '||', or '|' (a pipe). */
  join: ';' | '&&' | '||' | '|'
}

export interface ShellContext {
  /** The line the backquoted text starts on. */
  line: number
  /** The directory of the script, for relative paths (defaults.sh); absent: none is read. */
  scriptDir?: string
  /** The stack's settings so far (defaults and earlier lines), for checks that compare. */
  config: TcpConfig
  /** What the last set_sysctls.py changed, for `/tmp/sysctl_restore_${PPID}.sh`; the interpreter updates it. */
  restore: { patch: Partial<TcpConfig> | null }
  /** Reads a file, or null if it cannot; default: the file system. Tests give their own. */
  readFile?: (path: string) => string | null
}

/** Interpret one backquoted block; throws ScriptError at the line of the first command it refuses. */
export function interpretShell(text: string, ctx: ShellContext): ShellEffect[] {
  const effects: ShellEffect[] = []
  let config = ctx.config
  const commands = splitCommands(text, ctx.line)
  let failed = false
  for (const [i, cmd] of commands.entries()) {
    const line = ctx.line + cmd.offset
    if (cmd.argv[0] === 'nstat' && cmd.join !== '||') {
      effects.push(nstat(cmd, commands[i + 1], commands[i + 2], line, text))
      continue
    }
    if (cmd.join === '|' && commands[i - 1]?.argv[0] === 'nstat') continue // the grep of nstat | grep, taken above
    if (commands[i + 1]?.join === '|' || cmd.join === '|') {
      throw new ScriptError(line, `unsupported: shell command ${cmd.argv[0]} in a pipe (\`${text.trim()}\`): the runner never runs commands`)
    }
    // `A || B` runs B only when A fails, `A && B` only when it succeeds; a command we accept succeeds.
    if ((cmd.join === '||' && !failed) || (cmd.join === '&&' && failed)) continue
    failed = false
    let out: ShellEffect[]
    try {
      out = interpretCommand(cmd.argv, { ...ctx, line, config })
    } catch (error) {
      // A sysctl of a name we do not have, guarded by `|| B`: it fails as sysctl does, and B runs.
      if (!(commands[i + 1]?.join === '||' && error instanceof ScriptError && error.message.includes('is not in tuntcp\'s table'))) throw error
      out = [{ line, what: cmd.argv.join(' '), patch: {}, note: 'no such setting here: the command fails, so what follows || runs' }]
      failed = true
    }
    for (const e of out) {
      effects.push(e)
      config = { ...config, ...e.patch }
    }
  }
  return effects
}

/** `nstat ...` or `nstat ... | grep NAME` (nstat.ts), `next` and `after` the commands that follow it. */
function nstat(cmd: Command, next: Command | undefined, after: Command | undefined, line: number, text: string): ShellEffect {
  const piped = next?.join === '|' ? next : undefined
  if (piped !== undefined && after?.join === '|') throw new ScriptError(line, `unsupported: a pipe of more than nstat | grep (\`${text.trim()}\`)`)
  if (piped !== undefined && after?.join === '||') throw new ScriptError(line, `unsupported: || after nstat | grep (\`${text.trim()}\`): the check's failure would be hidden`)
  const action = nstatAction(cmd.argv, piped?.argv ?? null)
  if (typeof action === 'string') throw new ScriptError(line, `unsupported: ${action} (\`${text.trim()}\`)`)
  const what = piped === undefined ? cmd.argv.join(' ') : `${cmd.argv.join(' ')} | ${piped.argv.join(' ')}`
  return { line, what, patch: {}, nstat: action }
}

const NO_OPS: ReadonlyArray<{ match: (argv: string[]) => boolean; why: string }> = [
  {
    match: a => a[0] === 'tc' && a[1] === 'qdisc' && (a[2] === 'add' || a[2] === 'replace') && a[3] === 'dev' && a[5] === 'root' && a[6] === 'pfifo' && a.length === 7,
    why: 'the script\'s link is first in, first out, without pacing',
  },
  {
    match: a => a[0] === 'ethtool' && a[1] === '-K' && a.length >= 5 && a.length % 2 === 1 && a.slice(3).every((w, i) => i % 2 === 0 || w === 'off'),
    why: 'the script\'s link has no offloads to turn off',
  },
]

function interpretCommand(argv: string[], ctx: ShellContext): ShellEffect[] {
  const name = argv[0]!
  const text = argv.join(' ')
  if (/(^|\/)common\/defaults\.sh$/.test(name) && !isAbsolute(name)) {
    if (argv.length > 1) throw new ScriptError(ctx.line, `${name} takes no arguments (got ${argv.slice(1).join(' ')})`)
    return defaults(name, ctx)
  }
  if (/(^|\/)set_sysctls\.py$/.test(name)) return setSysctls(argv, ctx)
  if (name === 'sysctl' || name === '/sbin/sysctl' || name === '/usr/sbin/sysctl') return sysctl(argv, ctx)
  if (/^\/tmp\/sysctl_restore_(\$\{PPID\}|\$PPID)\.sh$/.test(name) && argv.length === 1) {
    const patch = ctx.restore.patch
    if (patch === null) throw new ScriptError(ctx.line, `${name}: no set_sysctls.py ran before it, so there is nothing to restore`)
    ctx.restore.patch = null
    return [{ line: ctx.line, what: name, patch }]
  }
  // tuntcp's only per-destination metrics are the Fast Open client's cookies and MSS (fast-open-cache.ts).
  if (argv[0] === 'ip' && argv[1] === 'tcp_metrics' && argv[2] === 'flush') {
    return [{ line: ctx.line, what: text, patch: {}, flushMetrics: true, note: 'forgets the Fast Open cookies and MSS learnt; tuntcp keeps no other metrics per destination (RTT, cwnd)' }]
  }
  const noOp = NO_OPS.find(n => n.match(argv))
  if (noOp !== undefined) return [{ line: ctx.line, what: text, patch: {}, note: `no effect in tuntcp: ${noOp.why}` }]
  throw new ScriptError(ctx.line, `unsupported: shell command ${name} (\`${text}\`): the runner never runs commands; it understands defaults.sh, set_sysctls.py, sysctl and the no-ops of docs/scripts.md`)
}

/**
 * defaults.sh: the script was written for Linux, so the Linux profile first (config.ts,
 * LINUX_PROFILE: quick ACKs, PSH per burst, Linux's timers), then the file the script names,
 * read as data; if it is not there, the values built in (sysctl.ts).
 */
function defaults(name: string, ctx: ShellContext): ShellEffect[] {
  const profile: ShellEffect = { line: ctx.line, what: `${name}: the Linux profile (as --profile linux)`, patch: { ...LINUX_PROFILE } }
  ctx = { ...ctx, config: { ...ctx.config, ...profile.patch } }
  const read = ctx.readFile ?? readOrNull
  const source = ctx.scriptDir === undefined ? null : read(resolve(ctx.scriptDir, name))
  if (source === null) {
    let config = ctx.config
    return [profile, ...LINUX_DEFAULTS.map(([n, v]) => {
      const e = setting(`${name} (built-in values): sysctl ${n}=${v}`, n, v, { ...ctx, config })
      config = { ...config, ...e.patch }
      return e
    })]
  }
  try {
    // Lines of the file count from 1; refusals name the file's line, under the script's.
    const effects = interpretShell(source, { ...ctx, line: 1, scriptDir: undefined })
    return [profile, ...effects.map(e => ({ ...e, line: ctx.line, what: `${name}: ${e.what}` }))]
  } catch (error) {
    if (error instanceof ScriptError) throw new ScriptError(ctx.line, `${name} line ${error.line}: ${error.detail}`)
    throw error
  }
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** set_sysctls.py /proc/sys/net/ipv4/NAME=VALUE ...: each one a sysctl; remembers the old values for the restore script. */
function setSysctls(argv: string[], ctx: ShellContext): ShellEffect[] {
  if (argv.length < 2) throw new ScriptError(ctx.line, `${argv[0]} needs /proc/sys/...=value arguments`)
  const effects: ShellEffect[] = []
  const before: Partial<TcpConfig> = {}
  let config = ctx.config
  for (const arg of argv.slice(1)) {
    const m = /^\/proc\/sys\/([^=]+)=(.*)$/s.exec(arg)
    if (m === null) throw new ScriptError(ctx.line, `${argv[0]}: expected /proc/sys/NAME=VALUE, not ${arg}`)
    const e = setting(`set_sysctls.py ${arg}`, m[1]!, m[2]!, { ...ctx, config })
    for (const key of Object.keys(e.patch) as Array<keyof TcpConfig>) {
      if (!(key in before)) (before as Record<string, unknown>)[key] = config[key]
    }
    config = { ...config, ...e.patch }
    effects.push(e)
  }
  // The script writes a new restore file each time it runs: the last run's old values.
  ctx.restore.patch = before
  return effects
}

/** sysctl [-q] [-w] NAME=VALUE ...: each one set (reading a value, without =, is refused). */
function sysctl(argv: string[], ctx: ShellContext): ShellEffect[] {
  const effects: ShellEffect[] = []
  let config = ctx.config
  for (const arg of argv.slice(1)) {
    if (/^-[qw]+$/.test(arg)) continue
    if (arg.startsWith('-')) throw new ScriptError(ctx.line, `unsupported: sysctl option ${arg} (only -q and -w)`)
    const eq = arg.indexOf('=')
    if (eq < 0) throw new ScriptError(ctx.line, `unsupported: sysctl ${arg} reads a value; the runner only sets them (NAME=VALUE)`)
    const e = setting(`sysctl ${arg}`, arg.slice(0, eq), arg.slice(eq + 1), { ...ctx, config })
    config = { ...config, ...e.patch }
    effects.push(e)
  }
  if (effects.length === 0) throw new ScriptError(ctx.line, 'sysctl with nothing to set')
  return effects
}

function setting(what: string, name: string, value: string, ctx: ShellContext): ShellEffect {
  const r = applySysctl(name.replace(/\//g, '.'), value, ctx.config)
  if (!r.ok) throw new ScriptError(ctx.line, `unsupported: ${r.reason}`)
  return r.note === undefined ? { line: ctx.line, what, patch: r.patch } : { line: ctx.line, what, patch: r.patch, note: r.note }
}

// ---- the shell's words ----

/**
 * Split shell text into simple commands, as sh reads them: words (quotes and
 * backslashes removed, $((...)) computed), joined by `;`, newlines, `&&`, `||`
 * or `|` (which interpretShell refuses, naming the command). Comments (#) are dropped
 * and redirections to /dev/null (`> /dev/null`, `2>&1`, `&>/dev/null`) accepted and
 * ignored; background jobs, other redirections and other expansions are refused.
 */
export function splitCommands(text: string, line = 1): Command[] {
  const commands: Command[] = []
  let argv: string[] = []
  let word: string | null = null
  let offset = 0
  let start = 0
  let join: Command['join'] = ';'
  let i = 0
  const fail = (what: string): never => { throw new ScriptError(line + offset, `unsupported: ${what} in a shell line`) }
  const endWord = () => {
    if (word !== null) argv.push(word)
    word = null
  }
  const endCommand = (next: Command['join']) => {
    endWord()
    if (argv.length === 0 && next === ';') return // an empty line; after && or || the command goes on
    if (argv.length > 0) commands.push({ argv, offset: start, join })
    else fail(`${next} with no command before it`)
    argv = []
    join = next
  }
  while (i < text.length) {
    const c = text[i]!
    if (word === null && argv.length === 0) start = offset
    if (c === '\\' && text[i + 1] === '\n') { offset++; i += 2; continue } // a continued line
    if (c === '\\') { word = (word ?? '') + (text[i + 1] ?? ''); i += 2; continue }
    if (c === '\n') { offset++; endCommand(';'); i++; continue }
    if (c === ' ' || c === '\t' || c === '\r') { endWord(); i++; continue }
    if (c === '#' && word === null) { while (i < text.length && text[i] !== '\n') i++; continue }
    if (c === ';') { endCommand(';'); i++; continue }
    if (text.startsWith('&&', i)) { endCommand('&&'); i += 2; continue }
    if (text.startsWith('||', i)) { endCommand('||'); i += 2; continue }
    if (c === '|') { endCommand('|'); i++; continue }
    if (c === '>' || c === '<' || text.startsWith('&>', i)) {
      // A redirection: an fd number before it is part of it (2>&1), then a target.
      if (word !== null && /^\d$/.test(word)) word = null
      endWord()
      const op = /^(&>>?|>>?|<)/.exec(text.slice(i))![0]
      i += op.length
      while (text[i] === ' ' || text[i] === '\t') i++
      const target = /^(&\d|[^\s;&|<>]+)/.exec(text.slice(i))?.[0] ?? ''
      i += target.length
      if (op === '<' || !(target === '/dev/null' || /^&[12]$/.test(target))) fail(`the redirection ${op}${target} (only to /dev/null)`)
      continue
    }
    if (c === '&') fail('a background job (&)')
    if (c === "'") {
      const end = text.indexOf("'", i + 1)
      if (end < 0) fail("an unterminated ' quote")
      word = (word ?? '') + text.slice(i + 1, end)
      for (const ch of text.slice(i, end)) if (ch === '\n') offset++
      i = end + 1
      continue
    }
    if (c === '"') {
      let j = i + 1
      let s = ''
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && '"\\$`'.includes(text[j + 1] ?? '')) { s += text[j + 1]; j += 2; continue }
        if (text.startsWith('$((', j)) { const [v, end] = arithmetic(text, j, fail); s += v; j = end; continue }
        if (text[j] === '\n') offset++
        s += text[j++]
      }
      if (j >= text.length) fail('an unterminated " quote')
      word = (word ?? '') + s
      i = j + 1
      continue
    }
    if (text.startsWith('$((', i)) { const [v, end] = arithmetic(text, i, fail); word = (word ?? '') + v; i = end; continue }
    if (c === '$' && !/^\$(\{PPID\}|PPID)/.test(text.slice(i))) fail(`the expansion ${/^\$\{?\w*\}?/.exec(text.slice(i))![0]}`)
    word = (word ?? '') + c
    i++
  }
  endCommand(';')
  return commands
}

/** `$((15*1024*1024))` at `at`: its value and where it ends. Integers, + - * / % and parentheses, as sh. */
function arithmetic(text: string, at: number, fail: (what: string) => never): [string, number] {
  const end = text.indexOf('))', at + 3)
  if (end < 0) fail('an unterminated $((')
  const expr = text.slice(at + 3, end)
  if (!/^[\d\s+\-*/%()]+$/.test(expr)) fail(`the arithmetic $((${expr}))`)
  const tokens = expr.match(/\d+|[+\-*/%()]/g) ?? []
  let p = 0
  const primary = (): bigint => {
    const t = tokens[p++]
    if (t === '(') { const v = sum(); if (tokens[p++] !== ')') fail(`the arithmetic $((${expr}))`); return v }
    if (t === '-') return -primary()
    if (t === undefined || !/^\d+$/.test(t)) return fail(`the arithmetic $((${expr}))`)
    return BigInt(t)
  }
  const product = (): bigint => {
    let v = primary()
    while (tokens[p] === '*' || tokens[p] === '/' || tokens[p] === '%') {
      const op = tokens[p++]
      const r = primary()
      if (op !== '*' && r === 0n) fail(`division by zero in $((${expr}))`)
      v = op === '*' ? v * r : op === '/' ? v / r : v % r
    }
    return v
  }
  const sum = (): bigint => {
    let v = product()
    while (tokens[p] === '+' || tokens[p] === '-') v = tokens[p++] === '+' ? v + product() : v - product()
    return v
  }
  const v = sum()
  if (p !== tokens.length) fail(`the arithmetic $((${expr}))`)
  return [v.toString(), end + 2]
}

/** The settings of several shell lines, later ones winning. */
export function mergeEffects(effects: readonly ShellEffect[]): Partial<TcpConfig> {
  const out: Partial<TcpConfig> = {}
  for (const e of effects) Object.assign(out, e.patch)
  return out
}
