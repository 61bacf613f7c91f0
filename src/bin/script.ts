// tuntcp script FILE...: run packetdrill-style scripts against a fresh stack
// each, in virtual time, and say which pass; the first mismatch of each failing
// script is shown with its line, the expected segment and the one the stack sent.

import { access } from 'node:fs/promises'
import type { Stack } from '../stack/stack.js'
import { TCP_PROFILES, type TcpProfileName } from '../stack/tcp/config.js'
import { IP_VERSIONS } from '../testkit/script/ast.js'
import { formatFailure, runScriptFile } from '../testkit/script/index.js'
import { parse, UsageError } from './args.js'
import { traceJsonToFile } from './trace-json.js'

export const SCRIPT_USAGE = `usage: tuntcp script [--verbose] [--profile linux] [--ip_version V] [--mtu N] [--trace-json OUT] FILE...

Runs each packetdrill-style script FILE against a fresh stack in virtual time
(the stack is 192.168.0.1, the script plays 192.0.2.1) and prints "ok  FILE" or
the first mismatch, then a count. Exit status 1 if any script fails.

  -v, --verbose        print every event and every segment the stack sends
  --ip_version V       ipv4 (default), ipv6 or ipv4-mapped-ipv6, as packetdrill's flag: the
                       packets on the wire (IPv6: the stack at fd3d:fa7b:d17d::, the script
                       at 2001:db8::1); ipv4-mapped-ipv6 is IPv4 on the wire behind IPv6
                       sockets, which see ::ffff:192.0.2.1
  --mtu N              the link's MTU (default 1500), as packetdrill's flag; its run_all.py
                       runs IPv6 with 1520, for the MSS of 1460 the scripts expect
  --profile linux      start the stack as Linux's TCP behaves (quick ACKs, PSH per burst,
                       Linux's timers and buffers; docs/scripts.md); scripts that run
                       Linux's defaults.sh get it anyway
  --trace-json OUT     write the stack's trace as JSON lines to OUT (docs/trace-json.md;
                       draw it with tuntcp plot); one script FILE only, in virtual time

The language is the non-Linux-specific subset of packetdrill: see docs/scripts.md.
A script may start with packetdrill's options (--tolerance_usecs=N, ...) and with
the stack's tunables as --tcp_NAME=VALUE (--tcp_msl_ms=1000, --tcp_rcv_buf_size=4000).`

const OPTIONS = {
  verbose: { type: 'boolean', short: 'v', default: false },
  'trace-json': { type: 'string' },
  profile: { type: 'string' },
  ip_version: { type: 'string' },
  mtu: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export async function script(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, true)
  if (values.help) {
    console.log(SCRIPT_USAGE)
    return 0
  }
  if (positionals.length === 0) throw new UsageError('script needs at least one FILE (try: tuntcp help script)')
  const profile = values.profile
  if (profile !== undefined && !(profile in TCP_PROFILES)) throw new UsageError(`--profile ${profile}: the profiles are ${Object.keys(TCP_PROFILES).join(', ')}`)
  const ipVersion = IP_VERSIONS.find(v => v === values.ip_version)
  if (values.ip_version !== undefined && ipVersion === undefined) {
    throw new UsageError(`--ip_version must be ${IP_VERSIONS.join(', ')}, not ${JSON.stringify(values.ip_version)}`)
  }
  const mtu = values.mtu === undefined ? undefined : Number(values.mtu)
  if (mtu !== undefined && (!/^\d+$/.test(values.mtu!) || mtu < 576 || mtu > 65535)) throw new UsageError(`--mtu must be a whole number from 576 to 65535, not ${JSON.stringify(values.mtu)}`)
  const traceJson = values['trace-json']
  // Each script runs a fresh stack on a clock from 0: one trace file holds one of them.
  if (traceJson !== undefined && positionals.length > 1) throw new UsageError('--trace-json traces one script at a time: give one FILE')
  for (const file of positionals) {
    try {
      await access(file)
    } catch {
      throw new UsageError(`cannot read ${file}`)
    }
  }
  let passed = 0
  let failed = 0
  for (const file of positionals) {
    const trace = values.verbose ? (line: string) => console.log(`  ${line}`) : undefined
    if (values.verbose) console.log(file)
    let stopJson: (() => void) | undefined
    const onStack = traceJson === undefined ? undefined : (stack: Stack) => { stopJson = traceJsonToFile(stack, traceJson) }
    const result = await runScriptFile(file, { trace, onStack, profile: profile as TcpProfileName | undefined, ipVersion, mtu }).finally(() => stopJson?.())
    if (result.ok) {
      passed++
      console.log(`ok  ${file}`)
    } else {
      failed++
      console.log(`FAIL ${file}`)
      console.log(formatFailure(result.failure!).replace(/^/gm, '  '))
    }
  }
  console.log(`${passed} passed, ${failed} failed`)
  return failed > 0 ? 1 : 0
}
