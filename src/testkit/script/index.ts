// packetdrill-style scripts against the stack in virtual time: parse, run,
// and report the first mismatch. See docs/scripts.md.

import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { ScriptError } from './errors.js'
import { parseScript, type ParseOptions } from './parse.js'
import { runScript, type Failure, type RunOptions, type RunResult } from './runner.js'

export { parseScript, type ParseOptions } from './parse.js'
export { runScript, secs, REMOTE_PORT, type Failure, type RunOptions, type RunResult } from './runner.js'
export { ScriptError } from './errors.js'
export type { Script, ScriptEvent, PacketSpec, SyscallSpec, EventTime, TcpOptionSpec, Expr, ScriptOptions } from './ast.js'

/** Parse and run a script's text; a script the parser refuses fails at its line. `parse.scriptDir`: where its shell lines' relative paths start. */
export async function runScriptSource(source: string, options: RunOptions = {}, parse: ParseOptions = {}): Promise<RunResult> {
  let script
  try {
    script = parseScript(source, parse)
  } catch (error) {
    if (!(error instanceof ScriptError)) throw error
    const line = source.split('\n')[error.line - 1]?.trim() ?? ''
    return { ok: false, failure: { line: error.line, source: line, message: error.detail } }
  }
  return runScript(script, options)
}

export async function runScriptFile(path: string, options: RunOptions = {}): Promise<RunResult> {
  return runScriptSource(await readFile(path, 'utf8'), options, { scriptDir: dirname(resolve(path)) })
}

/** A failure as the command prints it: the line, what went wrong, then expected and actual segments. */
export function formatFailure(f: Failure): string {
  const lines = [`line ${f.line}: ${f.source}`, `  ${f.message}`]
  if (f.expected !== undefined) lines.push(`  expected: ${f.expected}`)
  if (f.actual !== undefined) lines.push(`  actual:   ${f.actual}`)
  return lines.join('\n')
}
