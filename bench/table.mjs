// The table `npm run bench` prints from bench/net.mjs's rows: one column per server (kernel,
// tuntcp, tuntcp with N workers, a second userspace stack), then the ratios. Pure, so
// test/bench/table.test.ts can check it.

/** A number as the table shows it: thousands grouped, small ones with a decimal. */
export function fmt(v) {
  if (v === null || v === undefined) return 'n/a'
  if (v >= 1000) return Math.round(v).toLocaleString('en-US')
  if (v >= 100) return v.toFixed(0)
  return v.toFixed(1)
}

/**
 * Side `side` of a row relative to side `base`, > 1 meaning `side` is faster: a rate over a
 * rate, or for a latency (better: 'lower') the base's latency over the side's. Null if either is missing.
 */
export function relative(row, side = 'tuntcp', base = 'kernel') {
  const b = row[base]?.value
  const v = row[side]?.value
  if (!b || !v) return null
  return row.better === 'lower' ? b / v : v / b
}

/** The server columns a row set has, in this order, with their headings. */
function columns(rows, threads) {
  const has = side => rows.some(r => r[side] !== undefined)
  return [
    ['kernel', 'kernel'],
    ['tuntcp', 'tuntcp'],
    ...(threads ? [['tuntcpN', `tuntcp x${threads}`]] : []),
    ...(has('gvisor') ? [['gvisor', 'gvisor']] : []),
  ]
}

/**
 * The table as text. `threads`: the worker count of the tuntcpN column (null: none). A row
 * with a `gvisor` side gets a gvisor column and a tuntcp/gvisor ratio.
 */
export function table(rows, threads = null) {
  const cols = columns(rows, threads)
  const withPeer = cols.some(([side]) => side === 'gvisor')
  const ratios = [
    ['tuntcp/kernel', r => relative(r, 'tuntcp', 'kernel')],
    ...(withPeer ? [['tuntcp/gvisor', r => relative(r, 'tuntcp', 'gvisor')]] : []),
    ...(threads ? [[`x${threads}/x1`, r => relative(r, 'tuntcpN', 'tuntcp')]] : []),
  ]
  const ratio = v => v === null ? 'n/a' : `${v.toFixed(2)}x`
  const head = ['', 'unit', ...cols.map(([, h]) => h), ...ratios.map(([h]) => h)]
  const body = rows.map(r => [r.label, r.unit, ...cols.map(([side]) => fmt(r[side]?.value)), ...ratios.map(([, f]) => ratio(f(r)))])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map(b => b[i].length)))
  const line = cells => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  const notes = []
  for (const r of rows) {
    for (const [side] of cols) {
      if (r[side]?.note) notes.push(`  ${r.id} ${side}: ${r[side].note}`)
      if (r[side]?.error) notes.push(`  ${r.id} ${side}: FAILED: ${r[side].error}`)
    }
  }
  return [
    line(head), line(widths.map(w => '-'.repeat(w))), ...body.map(line),
    `each cell: the median of ${[...new Set(rows.map(r => r.reps))].join('/')} runs (all runs in the JSON).`,
    'tuntcp/kernel: tuntcp as a fraction of the kernel, higher is better (for RTT rows: kernel RTT / tuntcp RTT).',
    ...(withPeer ? ['tuntcp/gvisor: the same against gVisor netstack on a TUN device of its own (bench/gvisor/), higher is better for tuntcp.'] : []),
    ...(threads ? [`tuntcp x${threads}: serve --workers ${threads} (a multi-queue TUN device, one queue and one Stack per thread); x${threads}/x1: it against tuntcp on one thread.`] : []),
    ...(notes.length ? ['notes:', ...notes] : []),
  ].join('\n')
}
