// What a fuzzer decides ahead of time, and how it becomes an Action once the
// connection is live: sequence numbers are chosen as offsets from where the peer
// and the stack are at that moment, so a random sequence of steps stays mostly
// near the window (where the interesting rules are) and sometimes far from it.

import type { TcpOptions } from '../../stack/wire/tcp.js'
import type { Action, FuzzConnection, Mutation } from './connection.js'

export type Step =
  | {
      type: 'segment'
      flags: number
      /** From the peer's next sequence number. */
      seqOffset: number
      /** From the end of what the stack has sent. */
      ackOffset: number
      window: number
      dataLength: number
      options?: TcpOptions | undefined
      mutation?: Mutation | undefined
    }
  | Exclude<Action, { type: 'segment' }>

/** The Action a step means for the connection as it is now. */
export function resolveStep(f: FuzzConnection, s: Step): Action {
  if (s.type !== 'segment') return s
  return {
    type: 'segment',
    segment: {
      flags: s.flags, seq: (f.peerNxt + s.seqOffset) >>> 0, ack: (f.stackNext + s.ackOffset) >>> 0,
      window: s.window, dataLength: s.dataLength, options: s.options,
    },
    mutation: s.mutation,
  }
}
