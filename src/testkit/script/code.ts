// `%{ ... }%` blocks against the socket under test: the names a block may read
// (tcpi_* fields of TCP_INFO, Linux's constants, variables assigned in earlier
// blocks, as in packetdrill's one Python process per script), checked when the
// script is parsed, and the run of a block at its time (python.ts evaluates).

import { LINUX_TCP_STATES, TCP_CA, TCP_INFO_FIELDS, TCPI_OPT, type TcpInfo } from '../../stack/tcp-info.js'
import { ScriptError } from './errors.js'
import { namesRead, PyError, runPython, str, type PyStmt, type PyValue } from './python.js'

/** Linux's names for tcpi_state, tcpi_ca_state and tcpi_options values, as packetdrill defines them for Python. */
export const CODE_CONSTANTS: Readonly<Record<string, number>> = {
  TCP_ESTABLISHED: LINUX_TCP_STATES['ESTABLISHED'],
  TCP_SYN_SENT: LINUX_TCP_STATES['SYN-SENT'],
  TCP_SYN_RECV: LINUX_TCP_STATES['SYN-RECEIVED'],
  TCP_FIN_WAIT1: LINUX_TCP_STATES['FIN-WAIT-1'],
  TCP_FIN_WAIT2: LINUX_TCP_STATES['FIN-WAIT-2'],
  TCP_TIME_WAIT: LINUX_TCP_STATES['TIME-WAIT'],
  TCP_CLOSE: LINUX_TCP_STATES['CLOSED'],
  TCP_CLOSE_WAIT: LINUX_TCP_STATES['CLOSE-WAIT'],
  TCP_LAST_ACK: LINUX_TCP_STATES['LAST-ACK'],
  TCP_LISTEN: LINUX_TCP_STATES['LISTEN'],
  TCP_CLOSING: LINUX_TCP_STATES['CLOSING'],
  ...Object.fromEntries(Object.entries(TCP_CA).map(([k, v]) => [`TCP_CA_${k}`, v])),
  ...Object.fromEntries(Object.entries(TCPI_OPT).map(([k, v]) => [`TCPI_OPT_${k}`, v])),
}

const FIELDS = new Set<string>(TCP_INFO_FIELDS)

/**
 * Refuse, at parse time, a block reading a name it could not have: a tcpi_ field
 * tuntcp does not keep, or a name neither a constant nor assigned before.
 * `assigned` holds the variables of earlier blocks and gains this block's.
 */
export function checkCodeNames(stmts: readonly PyStmt[], assigned: Set<string>): void {
  for (const { name, line, assigned: isAssign } of namesRead(stmts)) {
    if (isAssign) { assigned.add(name); continue }
    if (assigned.has(name) || name in CODE_CONSTANTS) continue
    if (name.startsWith('tcpi_')) {
      if (FIELDS.has(name.slice(5))) continue
      throw new ScriptError(line, `unsupported: ${name}, a field of Linux's tcp_info that tuntcp does not keep (it has tcpi_${TCP_INFO_FIELDS.join(', tcpi_')})`)
    }
    throw new ScriptError(line, `name ${name} is not defined in the %{ }% block (not a tcpi_ field, a TCP_ constant or a variable assigned before)`)
  }
}

function sourceOf(stmt: PyStmt): string {
  return stmt.kind === 'assert' ? stmt.source : `the statement of line ${stmt.line}`
}

export interface CodeFailure {
  line: number
  /** The statement that failed, as written (an assert), or null. */
  source: string | null
  message: string
}

/**
 * Run a block against `info` (the socket under test's TCP_INFO now). Returns the
 * failure of the first assert that does not hold, naming the tcpi_ values it read.
 */
export function runCode(stmts: readonly PyStmt[], info: TcpInfo, vars: Map<string, PyValue>, print: (text: string) => void): CodeFailure | null {
  const lookup = (name: string): PyValue | undefined => {
    if (vars.has(name)) return vars.get(name)
    if (name in CODE_CONSTANTS) return CODE_CONSTANTS[name]
    if (name.startsWith('tcpi_') && FIELDS.has(name.slice(5))) return info[name.slice(5) as keyof TcpInfo]
    return undefined
  }
  for (const stmt of stmts) {
    try {
      runPython([stmt], { lookup, assign: (n, v) => vars.set(n, v), print })
    } catch (error) {
      if (!(error instanceof PyError)) throw error
      // Say what was asserted, what the tcpi_ fields it read were, and its message if that adds anything.
      const fields = [...new Set(namesRead([stmt]).map(n => n.name).filter(n => n.startsWith('tcpi_')))]
      const values = fields.map(n => `${n} = ${str(lookup(n) ?? null)}`).join(', ')
      const plainName = stmt.kind === 'assert' && stmt.message?.kind === 'name' && fields.includes(stmt.message.name)
      let message = stmt.kind === 'assert' && error.assertion ? `assertion failed: ${stmt.source}` : `${error.message} in: ${sourceOf(stmt)}`
      if (values !== '') message += ` (${values})`
      if (error.assertMessage !== null && !plainName) message += `: ${error.assertMessage}`
      return { line: error.line, source: stmt.kind === 'assert' ? stmt.source : null, message }
    }
  }
  return null
}
