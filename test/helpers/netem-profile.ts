// The lossy-link profile of issue 4, in one place: what `tc qdisc ... netem` is given on
// the TUN device in test/kernel/lossy.test.ts, and the same faults as a FaultProfile
// (src/tun/faults.ts) for the stack's own outbound path, the in-memory tests and the
// userspace stand-in where the kernel has no netem (CONFIG_NET_SCH_NETEM unset).

import type { FaultProfile } from '../../src/tun/faults'

/** `tc qdisc add dev DEV root netem ...`: loss 5%, delay 5 ms with 1 ms jitter, reorder 10%, duplicate 1%, corrupt 0.5%. */
export const NETEM_ARGS = ['loss', '5%', 'delay', '5ms', '1ms', 'reorder', '10%', 'duplicate', '1%', 'corrupt', '0.5%']

/**
 * The same as a FaultProfile. netem's "reorder 10%" sends 10% of packets at once while
 * the others wait out the delay; here 10% are held back an extra 5 ms instead, which
 * reorders as often and by about as much.
 */
export const NETEM_PROFILE: FaultProfile = {
  loss: 0.05, delayMs: 5, jitterMs: 1, reorder: 0.1, reorderMs: 5, duplicate: 0.01, corrupt: 0.005,
}
