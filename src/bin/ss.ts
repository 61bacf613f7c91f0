// tuntcp ss: the connections of a running `tuntcp serve`, printed like `ss -tan -o`:
// state, queues, addresses, the active timer with its time left, retransmissions.

import type { ConnectionInfo } from '../stack/stack'
import { parse, UsageError } from './args'
import { query, type Snapshot } from './control'

export const SS_USAGE = `usage: tuntcp ss [--dev NAME] [--json]

Lists the connections of the tuntcp serve running on device NAME (default tuntcp0),
like ss -tan -o, then its counters.`

const OPTIONS = {
  dev: { type: 'string', default: 'tuntcp0' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)}s` : `${Math.round(ms)}ms`
}

/** One `ss -o` style timer column: timer:(on,1.2s,2). */
export function timerColumn(c: ConnectionInfo): string {
  return c.timer === null ? '' : `timer:(${c.timer.name},${seconds(c.timer.leftMs)},${c.retransmits})`
}

export function formatSnapshot(s: Snapshot): string {
  const rows = [['State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port', 'Timer']]
  const order = (c: ConnectionInfo) => `${c.localPort.toString().padStart(5)} ${c.remoteAddress} ${c.remotePort}`
  for (const c of [...s.connections].sort((a, b) => order(a).localeCompare(order(b)))) {
    rows.push([c.state, String(c.recvQueue), String(c.sendQueue), `${c.localAddress}:${c.localPort}`, `${c.remoteAddress}:${c.remotePort}`, timerColumn(c)])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => r[i]!.length)))
  const lines = rows.map(r => r.map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd())
  const counters = s.counters as { packetsIn: number; packetsOut: number; segmentsIn: number; segmentsOut: number; retransmissions: number; drops: Record<string, number> }
  const dropped = Object.values(counters.drops).reduce((a, b) => a + b, 0)
  lines.push('')
  lines.push(`${s.connections.length} connection${s.connections.length === 1 ? '' : 's'} on ${s.device} (${s.address}); packets in ${counters.packetsIn}, out ${counters.packetsOut}; segments in ${counters.segmentsIn}, out ${counters.segmentsOut}; retransmitted ${counters.retransmissions}; dropped ${dropped}`)
  return lines.join('\n')
}

export async function ss(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, true)
  if (values.help) {
    console.log(SS_USAGE)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`ss takes no arguments, got ${JSON.stringify(positionals[0])}`)
  let snapshot: Snapshot
  try {
    snapshot = await query(values.dev)
  } catch (error) {
    console.error(`tuntcp: ${(error as Error).message}`)
    return 1
  }
  console.log(values.json ? JSON.stringify(snapshot, null, 2) : formatSnapshot(snapshot))
  return 0
}
