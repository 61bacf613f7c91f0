// Drawing a scenario for the terminal: the ladder diagram, with each end's state
// written beside it whenever it changes, and the table of states per step.

import type { Row } from './recorder.js'

const LEFT = 14
const WIRE = 46

function arrow(text: string, rightward: boolean): string {
  const body = ` ${text} `
  const dashes = Math.max(2, WIRE - body.length - 1)
  const before = Math.floor(dashes / 2)
  const after = dashes - before
  return rightward ? '-'.repeat(before) + body + '-'.repeat(after) + '>' : '<' + '-'.repeat(before) + body + '-'.repeat(after)
}

export function ladder(rows: Row[], client: string, server: string): string {
  const lines: string[] = []
  lines.push(`${'client (kernel)'.padEnd(LEFT)}  ${' '.repeat(WIRE)}  server (tuntcp)`)
  lines.push(`${client.padEnd(LEFT)}  ${' '.repeat(WIRE)}  ${server}`)
  let lastClient = ''
  let lastServer = ''
  for (const row of rows) {
    const left = row.client !== lastClient ? row.client : ''
    const right = row.server !== lastServer ? row.server : ''
    lastClient = row.client
    lastServer = row.server
    let middle: string
    if (row.segment !== undefined) middle = arrow(row.segment.text, row.segment.from === 'client')
    else middle = `  ${row.event}`.padEnd(WIRE).slice(0, WIRE)
    lines.push(`${left.padEnd(LEFT)} |${middle}| ${right}`)
  }
  return lines.join('\n')
}

export function table(rows: Row[], mismatches: Set<number>): string {
  const eventWidth = Math.max(20, ...rows.map(r => r.event.length))
  const lines = [`${'step'.padStart(4)}  ${'event / segment'.padEnd(eventWidth)}  ${'client (kernel)'.padEnd(15)}  server (tuntcp)`]
  for (const row of rows) {
    const flag = mismatches.has(row.step) ? '   <- not what RFC 9293 says' : ''
    lines.push(`${String(row.step).padStart(4)}  ${row.event.padEnd(eventWidth)}  ${row.client.padEnd(15)}  ${row.server}${flag}`)
  }
  return lines.join('\n')
}
