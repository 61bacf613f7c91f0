// tuntcp plot TRACE -o OUT.svg|OUT.html [--conn N]: the graphs of a --trace-json file
// (src/viz/): time-sequence and congestion window, per connection or for one.

import { readFileSync, writeFileSync } from 'node:fs'
import { plotHtml, plotSvg } from '../viz/plot.js'
import { parseTrace } from '../viz/trace.js'
import { CommandError, parse, UsageError } from './args.js'

export const PLOT_USAGE = `usage: tuntcp plot TRACE -o OUT.svg|OUT.html [--conn N]

Draws the connections of TRACE (a file written by --trace-json) as a time-sequence
graph (segments as bars over their bytes, retransmissions red, the ACK and window
lines, SACK blocks, SYN/FIN/RST marked) and, where the traced stack sent the data,
its cwnd, ssthresh and bytes in flight over the same time. A .svg OUT is one picture;
a .html OUT is a page with a summary per connection. Both are self-contained.

  -o, --output FILE   where to write; .svg or .html
  --conn N            only connection N (the trace numbers them from 1)

The trace format: docs/trace-json.md.`

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  conn: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export async function plot(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, true)
  if (values.help) {
    console.log(PLOT_USAGE)
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('plot needs one TRACE file (try: tuntcp help plot)')
  const out = values.output
  if (out === undefined) throw new UsageError('plot needs -o OUT.svg or -o OUT.html')
  const format = /\.(svg|html?)$/i.exec(out)?.[1]?.toLowerCase()
  if (format === undefined) throw new UsageError(`-o ${out}: the name must end in .svg or .html`)
  const conn = values.conn === undefined ? undefined : Number(values.conn)
  if (conn !== undefined && !(Number.isSafeInteger(conn) && conn >= 1)) throw new UsageError(`--conn must be a connection number from 1, got ${values.conn}`)
  let text: string
  try {
    text = readFileSync(positionals[0]!, 'utf8')
  } catch (error) {
    throw new CommandError(`cannot read ${positionals[0]}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  try {
    const trace = parseTrace(text)
    writeFileSync(out, format === 'svg' ? plotSvg(trace, conn) : plotHtml(trace, conn, `tuntcp plot ${positionals[0]}`))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== undefined) throw new CommandError(`cannot write ${out}: ${(error as NodeJS.ErrnoException).code}`)
    throw new CommandError(`${positionals[0]}: ${(error as Error).message}`)
  }
  return 0
}
