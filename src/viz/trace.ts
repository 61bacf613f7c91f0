// The JSON trace (--trace-json, docs/trace-json.md): its records, and reading a file
// of them back. One JSON object per line; the first line is the header with the
// schema's version. Pure data: this module knows nothing of the stack or the CLI.

export const TRACE_SCHEMA = 'tuntcp-trace'
/** Bumped when a field changes meaning or goes away; new fields may appear without a bump. */
export const TRACE_VERSION = 1

export interface HeaderRecord {
  type: 'header'
  schema: typeof TRACE_SCHEMA
  version: number
  /** The traced stack's address. */
  stack: string
  /** Wall-clock time of t = 0, ISO 8601. */
  start: string
}

/** What every other record carries: when (ms since the header's start) and which connection (numbered from 1). */
interface Timed {
  t: number
  conn: number
}

export interface SegmentRecord extends Timed {
  type: 'segment'
  /** 'in': the stack received it; 'out': the stack sent it. */
  dir: 'in' | 'out'
  src: string
  sport: number
  dst: string
  dport: number
  /** Flag names in header bit order: FIN SYN RST PSH ACK URG ECE CWR. */
  flags: string[]
  /** Absolute sequence numbers as on the wire; ack is null without the ACK flag. */
  seq: number
  ack: number | null
  /** Payload bytes. */
  len: number
  /** The window field as on the wire (not scaled). */
  win: number
  options: { mss?: number; wscale?: number; sackOK?: true; ts?: [number, number] }
  /** SACK blocks [left, right), absolute. */
  sack: Array<[number, number]>
}

/** The connection's ends, as the stack sees them: local is the traced stack. */
interface Ends {
  local: string
  lport: number
  remote: string
  rport: number
}

export interface StateRecord extends Timed, Ends {
  type: 'state'
  from: string
  to: string
  cause: string
}

/** The sender after an ACK (the Stack's 'sender' event, SenderInfo): bytes and ms; null ssthresh or srtt is "not yet". */
export interface SenderRecord extends Timed, Ends {
  type: 'sender'
  state: string
  cc: string
  cwnd: number
  ssthresh: number | null
  srtt: number | null
  rttvar: number
  rto: number
  flight: number
  sacked: number
  sndUna: number
  sndNxt: number
  sndWnd: number
  recovery: 'open' | 'recovery' | 'loss'
}

export type TraceRecord = SegmentRecord | StateRecord | SenderRecord

export interface Trace {
  header: HeaderRecord
  records: TraceRecord[]
}

/** Read a JSON trace; throws with the line number on anything that is not one. */
export function parseTrace(text: string): Trace {
  const lines = text.split('\n').filter(l => l.trim() !== '')
  if (lines.length === 0) throw new Error('empty trace: no header line')
  const header = parseLine(lines[0]!, 1) as unknown as HeaderRecord
  if (header.type !== 'header' || header.schema !== TRACE_SCHEMA) throw new Error(`line 1: not a tuntcp trace (no "${TRACE_SCHEMA}" header)`)
  if (header.version !== TRACE_VERSION) throw new Error(`line 1: trace schema version ${header.version}, this tuntcp reads version ${TRACE_VERSION}`)
  const records: TraceRecord[] = []
  lines.slice(1).forEach((line, i) => {
    const r = parseLine(line, i + 2)
    // Unknown record types are skipped: a later tuntcp may add some without a new version.
    if (r.type === 'segment' || r.type === 'state' || r.type === 'sender') {
      if (typeof r.t !== 'number' || typeof r.conn !== 'number') throw new Error(`line ${i + 2}: a ${r.type} record needs t and conn`)
      records.push(r as unknown as TraceRecord)
    }
  })
  return { header, records }
}

function parseLine(line: string, n: number): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    throw new Error(`line ${n}: not JSON (${(error as Error).message})`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`line ${n}: not a JSON object`)
  return value as Record<string, unknown>
}

/** The connection numbers in the trace, in order of first appearance. */
export function connectionIds(trace: Trace): number[] {
  return [...new Set(trace.records.map(r => r.conn))]
}
