// The eleven states of RFC 9293 section 3.3.2, spelled as the RFC spells them,
// and the transition table the TCB checks every state change against.
// tools/state-diagram.ts draws docs/state-machine.svg from TRANSITIONS.

export type State =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT'

export const STATES: readonly State[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1',
  'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
]

export interface Transition {
  from: State
  to: State
  /** What moves the connection along this arc, in the words of RFC 9293 figure 5. */
  event: string
}

export const TRANSITIONS: readonly Transition[] = [
  { from: 'CLOSED', to: 'LISTEN', event: 'passive OPEN' },
  { from: 'CLOSED', to: 'SYN-SENT', event: 'active OPEN / snd SYN' },
  { from: 'LISTEN', to: 'SYN-RECEIVED', event: 'rcv SYN / snd SYN,ACK' },
  { from: 'LISTEN', to: 'CLOSED', event: 'CLOSE' },
  { from: 'SYN-SENT', to: 'ESTABLISHED', event: 'rcv SYN,ACK / snd ACK' },
  { from: 'SYN-SENT', to: 'SYN-RECEIVED', event: 'rcv SYN / snd SYN,ACK (simultaneous open)' },
  { from: 'SYN-SENT', to: 'CLOSED', event: 'CLOSE, rcv RST, or timeout' },
  { from: 'SYN-RECEIVED', to: 'ESTABLISHED', event: 'rcv ACK of SYN' },
  { from: 'SYN-RECEIVED', to: 'FIN-WAIT-1', event: 'CLOSE / snd FIN' },
  { from: 'SYN-RECEIVED', to: 'CLOSED', event: 'rcv RST, ABORT, or timeout' },
  { from: 'ESTABLISHED', to: 'FIN-WAIT-1', event: 'CLOSE / snd FIN' },
  { from: 'ESTABLISHED', to: 'CLOSE-WAIT', event: 'rcv FIN / snd ACK' },
  { from: 'ESTABLISHED', to: 'CLOSED', event: 'rcv RST, ABORT, or timeout' },
  { from: 'FIN-WAIT-1', to: 'FIN-WAIT-2', event: 'rcv ACK of FIN' },
  { from: 'FIN-WAIT-1', to: 'CLOSING', event: 'rcv FIN / snd ACK' },
  { from: 'FIN-WAIT-1', to: 'TIME-WAIT', event: 'rcv FIN with ACK of FIN / snd ACK' },
  { from: 'FIN-WAIT-1', to: 'CLOSED', event: 'rcv RST, ABORT, or timeout' },
  { from: 'FIN-WAIT-2', to: 'TIME-WAIT', event: 'rcv FIN / snd ACK' },
  { from: 'FIN-WAIT-2', to: 'CLOSED', event: 'rcv RST, ABORT, or FIN-WAIT-2 timeout' },
  { from: 'CLOSE-WAIT', to: 'LAST-ACK', event: 'CLOSE / snd FIN' },
  { from: 'CLOSE-WAIT', to: 'CLOSED', event: 'rcv RST, ABORT, or timeout' },
  { from: 'CLOSING', to: 'TIME-WAIT', event: 'rcv ACK of FIN' },
  { from: 'CLOSING', to: 'CLOSED', event: 'rcv RST, ABORT, or timeout' },
  { from: 'LAST-ACK', to: 'CLOSED', event: 'rcv ACK of FIN, rcv RST, or timeout' },
  { from: 'TIME-WAIT', to: 'CLOSED', event: 'timeout = 2MSL, new SYN, or ABORT' },
]

const allowed = new Set(TRANSITIONS.map(t => `${t.from}>${t.to}`))

export function isTransition(from: State, to: State): boolean {
  return allowed.has(`${from}>${to}`)
}

/** States in which both sequence spaces are known (RFC 9293 3.10.7.4). */
export function isSynchronized(state: State): boolean {
  return state !== 'CLOSED' && state !== 'LISTEN' && state !== 'SYN-SENT' && state !== 'SYN-RECEIVED'
}
