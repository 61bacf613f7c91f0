// The flags of `npm run bench` (bench/run.mjs), parsed into one plain object; pure, so
// test/bench/args.test.ts can check it without root or a network namespace.

/** The rows bench/net.mjs can run, for --rows. */
export const ROW_IDS = ['download', 'upload', 'ab-c1', 'ab-c32', 'wrk', 'download-par', 'rtt', 'download6', 'rtt6']

/** The second userspace stacks --peer can add as a column (bench/gvisor/: gVisor's netstack). */
export const PEERS = ['gvisor']

const ONLY = ['net', 'inproc', 'lossy', 'forward']

export const USAGE = 'usage: node bench/run.mjs [--quick] [--only=net|inproc|lossy|forward] [--profile[=download|upload|wrk|ab-c1|ab-c32|rtt]] ' +
  '[--workers=N (2 to 64)] [--rows=ab-c1,ab-c32,...] [--peer=gvisor]'

/**
 * `args` (process.argv after the script) as { ok: true, quick, only, profileArg, workersArg,
 * workers, rowsArg, rows, peer }, or { ok: false, message } for a flag we do not know or a bad value.
 * profileArg, workersArg and rowsArg are the flags as given, to hand on to bench/net.mjs.
 */
export function parseBenchArgs(args) {
  const flag = name => args.find(a => a === name || a.startsWith(`${name}=`))
  const value = name => flag(name)?.split('=')[1] ?? null
  const known = ['--quick', '--only', '--profile', '--workers', '--rows', '--peer']
  const unknown = args.find(a => !known.includes(a.split('=')[0]))
  if (unknown !== undefined) return { ok: false, message: `bench: unknown flag ${JSON.stringify(unknown)}\n${USAGE}` }
  const only = value('--only')
  if (only !== null && !ONLY.includes(only)) return { ok: false, message: `bench: --only takes ${ONLY.join(', ')}\n${USAGE}` }
  const workersArg = flag('--workers') ?? null
  const workers = workersArg ? Number(value('--workers')) : null
  if (workers !== null && !(Number.isInteger(workers) && workers >= 2 && workers <= 64)) {
    return { ok: false, message: `bench: --workers takes a whole number from 2 to 64\n${USAGE}` }
  }
  const rowsArg = flag('--rows') ?? null
  const rows = rowsArg ? (value('--rows') ?? '').split(',') : null
  const badRow = rows?.find(id => !ROW_IDS.includes(id))
  if (badRow !== undefined) {
    return { ok: false, message: `bench: no row ${JSON.stringify(badRow)}; --rows takes a comma-separated list of ${ROW_IDS.join(', ')}` }
  }
  const peer = value('--peer')
  if (flag('--peer') !== undefined && !PEERS.includes(peer)) {
    return { ok: false, message: `bench: --peer takes ${PEERS.join(', ')}\n${USAGE}` }
  }
  return { ok: true, quick: args.includes('--quick'), only, profileArg: flag('--profile') ?? null, workersArg, workers, rowsArg, rows, peer }
}
