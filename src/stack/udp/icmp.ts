// What an ICMP error about one of our datagrams means to a UDP socket, as Linux says it
// (icmp_err_convert in net/ipv4/icmp.c, __udp4_lib_err in net/ipv4/udp.c). RFC 1122
// 4.1.3.3 asks UDP to pass ICMP errors up; Linux (and so Node's dgram) reports only the
// hard ones, and only on a connected socket: an unconnected one could not tell which of
// its peers the error is about, and anyone can forge one.

import type { IcmpError } from '../ip/icmp-errors.js'

/** Destination unreachable code -> [errno code, hard]. Codes 0-15 (RFC 792, RFC 1122 3.2.2.1, RFC 1812 5.2.7.1). */
const UNREACHABLE: ReadonlyArray<readonly [string, boolean]> = [
  ['ENETUNREACH', false], // 0 net unreachable
  ['EHOSTUNREACH', false], // 1 host unreachable
  ['ENOPROTOOPT', true], // 2 protocol unreachable
  ['ECONNREFUSED', true], // 3 port unreachable: nobody listens there
  ['EMSGSIZE', false], // 4 fragmentation needed and DF set
  ['EOPNOTSUPP', false], // 5 source route failed
  ['ENETUNREACH', true], // 6 destination network unknown
  ['EHOSTDOWN', true], // 7 destination host unknown
  ['ENONET', true], // 8 source host isolated
  ['ENETUNREACH', true], // 9 network administratively prohibited
  ['EHOSTUNREACH', true], // 10 host administratively prohibited
  ['ENETUNREACH', false], // 11 network unreachable for TOS
  ['EHOSTUNREACH', false], // 12 host unreachable for TOS
  ['EHOSTUNREACH', true], // 13 communication administratively prohibited
  ['EHOSTUNREACH', true], // 14 host precedence violation
  ['EHOSTUNREACH', true], // 15 precedence cutoff in effect
]

/** The error a connected socket reports for this ICMP error, or null when it is soft (counted, not reported). */
export function udpErrorCode(err: IcmpError): string | null {
  switch (err.kind) {
    case 'unreachable': {
      const [code, hard] = UNREACHABLE[err.code] ?? ['EHOSTUNREACH', false]
      return hard ? code : null
    }
    case 'parameter-problem':
      return 'EPROTO'
    default:
      return null // frag-needed (we never send more than the MTU), time exceeded, source quench: soft
  }
}
