// tuntcp demo: in a throwaway network namespace, the stack on a TUN device and
// real kernel clients, through five ways a connection ends (and the first again over IPv6). For each: the ladder
// diagram, the table of both ends' states, and a check against RFC 9293.

import { spawn, execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Stack } from '../stack/stack.js'
import { isTransition } from '../stack/tcp/state.js'
import { configureKernelSide } from '../tun/iproute.js'
import { TunDevice } from '../tun/tun-device.js'
import { parse, UsageError } from './args.js'
import { PacedLink } from './demo/paced-link.js'
import { Recorder } from './demo/recorder.js'
import { demoPage } from './demo/html.js'
import { ladder, table } from './demo/render.js'
import { mismatches, SCENARIOS, type Outcome, type Scenario } from './demo/scenarios.js'

export const DEMO_USAGE = `usage: tuntcp demo [--html FILE] [--json FILE] [--only NAME]

Runs, in a network namespace of its own (needs root), the stack and kernel clients
through ${SCENARIOS.length} scenarios: ${SCENARIOS.map(s => s.name).join(', ')}.
Exit status 0 only if every scenario matched RFC 9293.

  --html FILE    also write one self-contained page: each scenario's ladder as a
                 picture, its table and its check, linked to RFC 9293 and the code
  --json FILE    also write every observation to FILE
  --only NAME    run one scenario`

const INSIDE = 'TUNTCP_DEMO_NETNS'
const DEV = 'demo0'
const KERNEL = '10.99.0.1'
const STACK = '10.99.0.2'
const KERNEL6 = 'fd99::1'
const STACK6 = 'fd99::2'
const MSL_MS = 500
const PORT = 7
const CLOSED_PORT = 8

const OPTIONS = {
  json: { type: 'string' },
  html: { type: 'string' },
  only: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export async function demo(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, true)
  if (values.help) {
    console.log(DEMO_USAGE)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`demo takes no arguments, got ${JSON.stringify(positionals[0])}`)
  const scenarios = values.only === undefined ? SCENARIOS : SCENARIOS.filter(s => s.name === values.only)
  if (scenarios.length === 0) throw new UsageError(`no scenario ${JSON.stringify(values.only)}; there are: ${SCENARIOS.map(s => s.name).join(', ')}`)
  if (process.env[INSIDE] !== '1') return reexecInNamespace(argv)
  return runAll(scenarios, values)
}

/** Start ourselves again under `unshare -n`: a fresh network namespace that vanishes with us. */
function reexecInNamespace(argv: string[]): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('tuntcp: demo needs root to make a network namespace and a TUN device: sudo npx tuntcp demo')
    return Promise.resolve(1)
  }
  const bin = fileURLToPath(new URL('../../bin/tuntcp.mjs', import.meta.url))
  return new Promise(resolve => {
    const child = spawn('unshare', ['-n', '--', process.execPath, bin, 'demo', ...argv], {
      stdio: 'inherit',
      env: { ...process.env, [INSIDE]: '1' },
    })
    child.on('error', error => {
      console.error(`tuntcp: could not run unshare (util-linux): ${error.message}`)
      resolve(1)
    })
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  })
}

async function runAll(scenarios: Scenario[], files: { json?: string | undefined; html?: string | undefined }): Promise<number> {
  execFileSync('ip', ['link', 'set', 'lo', 'up'])
  const device = TunDevice.open({ name: DEV, mtu: 1500 })
  configureKernelSide(DEV, [`${KERNEL}/24`, `${KERNEL6}/64`], 1500)
  const link = new PacedLink(device)
  const stack = new Stack({ address: STACK, address6: STACK6, link, mslMs: MSL_MS })
  const outcomes: Outcome[] = []
  const about = `tuntcp demo: stack ${STACK} and ${STACK6} on ${DEV}, kernel ${KERNEL} and ${KERNEL6}, MSL ${MSL_MS / 1000} s (TIME-WAIT ${(2 * MSL_MS) / 1000} s here, 60 s on Linux)`
  console.log(about)
  console.log('Every segment is held on the wire until the step before it is seen; the kernel\'s states come from ss -tan.\n')
  try {
    for (const [i, scenario] of scenarios.entries()) {
      const outcome = await runScenario(stack, link, scenario)
      outcomes.push(outcome)
      print(i + 1, scenario, outcome)
    }
  } finally {
    await stack.shutdown(500)
    link.close()
  }
  const failed = outcomes.filter(o => o.problems.length > 0)
  console.log(failed.length === 0
    ? `all ${outcomes.length} scenarios matched RFC 9293`
    : `${failed.length} of ${outcomes.length} scenarios did not match: ${failed.map(o => o.name).join(', ')}`)
  if (files.json !== undefined) writeFileSync(files.json, JSON.stringify({ kernel: KERNEL, stack: STACK, mslMs: MSL_MS, scenarios: outcomes }, null, 2) + '\n')
  if (files.html !== undefined) writeFileSync(files.html, demoPage(outcomes.map((o, i) => ({ ...o, lesson: scenarios[i]!.lesson })), about))
  return failed.length === 0 ? 0 : 1
}

async function runScenario(stack: Stack, link: PacedLink, scenario: Scenario): Promise<Outcome> {
  const port = scenario.listening ? PORT : CLOSED_PORT
  const [kernelAddr, stackAddr] = scenario.ipv6 === true ? [KERNEL6, STACK6] : [KERNEL, STACK]
  const recorder = new Recorder(stack, link, kernelAddr, stackAddr, port, scenario.listening)
  const server = scenario.listening
    ? stack.createServer({ allowHalfOpen: true }, socket => {
      socket.on('error', () => {})
      recorder.server = socket
    }).listen(port)
    : null
  try {
    await scenario.run(recorder, MSL_MS)
  } finally {
    recorder.client?.destroy()
    server?.close()
  }
  return {
    name: scenario.name, title: scenario.title, client: recorder.clientLabel, server: recorder.serverLabel,
    rows: recorder.rows, expected: scenario.expected, clientError: recorder.clientError,
    problems: check(scenario, recorder),
  }
}

/** Compare what was seen with what RFC 9293 says. */
function check(scenario: Scenario, r: Recorder): string[] {
  const problems: string[] = []
  const rows = r.rows
  for (let i = 0; i < Math.max(rows.length, scenario.expected.length); i++) {
    const seen = rows[i]
    const want = scenario.expected[i]
    if (seen === undefined) problems.push(`step ${i}: expected ${want!.join(' / ')}, but the scenario ended`)
    else if (want === undefined) problems.push(`step ${i}: unexpected extra step ${seen.event}`)
    else if (seen.client !== want[0] || seen.server !== want[1]) {
      problems.push(`step ${i} (${seen.event}): saw ${seen.client} / ${seen.server}, RFC 9293 says ${want[0]} / ${want[1]}`)
    }
  }
  // Every change of state, on either end, must be an arc of the state diagram.
  for (const side of ['client', 'server'] as const) {
    for (let i = 1; i < rows.length; i++) {
      const from = rows[i - 1]![side]
      const to = rows[i]![side]
      if (from !== to && !isTransition(from, to)) problems.push(`step ${i}: the ${side} went ${from} -> ${to}, which is no arc of RFC 9293 figure 5`)
    }
  }
  if ((scenario.clientError ?? null) !== r.clientError) {
    problems.push(`the kernel client saw ${r.clientError ?? 'no error'}, expected ${scenario.clientError ?? 'no error'}`)
  }
  return problems
}

function print(n: number, scenario: Scenario, o: Outcome): void {
  const mismatched = mismatches(o)
  console.log(`== ${n}. ${scenario.title} ==\n`)
  console.log(ladder(o.rows, o.client, o.server))
  console.log()
  console.log(table(o.rows, mismatched))
  console.log()
  console.log(scenario.lesson)
  if (o.problems.length === 0) console.log(`ok: matches RFC 9293${o.clientError ? ` (the kernel client saw ${o.clientError})` : ''}\n`)
  else console.log(`MISMATCH:\n  ${o.problems.join('\n  ')}\n`)
}
