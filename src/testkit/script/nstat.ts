// `nstat` in a shell line, read as data: Linux's SNMP and netstat counters (the MIBs of
// /proc/net/snmp and /proc/net/netstat) for the counters the stack truly keeps, by Linux's
// names. As nstat does, the runner keeps a history: `nstat` (and `nstat -n`) sets it to the
// counters now; `nstat | grep NAME` succeeds if NAME changed since, `nstat -a | grep NAME` if
// it is not zero, and updates the history too. packetdrill fails a script whose shell command
// fails, so a grep that finds nothing fails the script here. A counter not in this table is
// refused in one line naming it: nothing is guessed or faked.

import type { Counters } from '../../stack/counters.js'

/** Linux's name of a counter, and where the stack keeps it (src/stack/counters.ts). */
export const NSTAT_COUNTERS: Readonly<Record<string, (c: Counters) => number>> = {
  // RFC 1213's tcp group (/proc/net/snmp).
  TcpActiveOpens: c => c.activeOpens,
  TcpPassiveOpens: c => c.passiveOpens,
  TcpInSegs: c => c.segmentsIn,
  TcpRetransSegs: c => c.retransmissions,
  TcpOutRsts: c => c.resetsSent,
  // Linux's own (/proc/net/netstat, include/uapi/linux/snmp.h).
  TcpExtOutOfWindowIcmps: c => c.drops['icmp-seq-not-in-flight'] ?? 0, // tcp_v4_err: the quoted sequence number not in flight
  TcpExtSyncookiesSent: c => c.synCookiesSent,
  TcpExtSyncookiesRecv: c => c.synCookiesAccepted,
  TcpExtTCPChallengeACK: c => c.challengeAcksSent,
  TcpExtTCPLossProbes: c => c.tailLossProbes,
  TcpExtTCPFastOpenPassive: c => c.fastOpenPassive,
  TcpExtTCPFastOpenPassiveFail: c => c.fastOpenPassiveFail,
  TcpExtTCPFastOpenCookieReqd: c => c.fastOpenCookieRequests,
  TcpExtTCPFastOpenListenOverflow: c => c.fastOpenListenOverflow,
}

/** What one nstat command line asks: set the history, or check one counter as grep would. */
export type NstatAction =
  | { kind: 'update' }
  | { kind: 'check'; counter: string; absolute: boolean }

/**
 * `nstat [-n] [-a]` alone, or piped into `grep [-q] [-w] NAME`: the action, or a reason to refuse.
 * Options other than these (-z prints zero counters too, -r resets, -s ...) are refused.
 */
export function nstatAction(nstat: string[], grep: string[] | null): NstatAction | string {
  let absolute = false
  let quiet = false
  for (const flag of nstat.slice(1)) {
    if (flag === '-a') absolute = true
    else if (flag === '-n') quiet = true
    else return `nstat option ${flag} (only -a and -n)`
  }
  if (grep === null) return { kind: 'update' }
  if (quiet) return 'nstat -n prints nothing for grep to find'
  if (grep[0] !== 'grep') return `a pipe into ${grep[0]} (only nstat | grep NAME)`
  const words = grep.slice(1).filter(w => w !== '-q' && w !== '-w')
  if (words.length !== 1 || words[0]!.startsWith('-')) return `grep ${grep.slice(1).join(' ')} (only grep [-q] [-w] NAME)`
  const counter = words[0]!
  if (!(counter in NSTAT_COUNTERS)) {
    return `nstat counter ${counter}: tuntcp does not keep it (it keeps ${Object.keys(NSTAT_COUNTERS).join(', ')})`
  }
  return { kind: 'check', counter, absolute }
}

/** Every counter of the table now: nstat's history. */
export function nstatSnapshot(c: Counters): Map<string, number> {
  const out = new Map<string, number>()
  for (const [name, read] of Object.entries(NSTAT_COUNTERS)) out.set(name, read(c))
  return out
}
