// A script the runner refuses before running it: a syntax error, a meaning
// error, or a part of packetdrill's language this runner does not support.

export class ScriptError extends Error {
  constructor(readonly line: number, readonly detail: string) {
    super(`line ${line}: ${detail}`)
    this.name = 'ScriptError'
  }
}

/** A part of packetdrill's language we recognise but do not run. */
export function unsupported(line: number, what: string): ScriptError {
  return new ScriptError(line, `unsupported: ${what}`)
}
