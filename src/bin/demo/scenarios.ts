// The five scenarios of `tuntcp demo`. The client is the kernel (Node's net
// module on a kernel socket); the server is tuntcp. Each lists, row by row, the
// states RFC 9293 says both ends must be in after each step (section 3.5 for the
// opening, 3.6 for the closing, figure 5 for the arcs).

import type { State } from '../../stack/tcp/state.js'
import type { Recorder, Row } from './recorder.js'

export interface Scenario {
  name: string
  title: string
  /** What a reader should notice. */
  lesson: string
  /** Whether the stack listens on the port. */
  listening: boolean
  /** Over IPv6 (the stack at fd99::2, the kernel at fd99::1) rather than IPv4. */
  ipv6?: boolean
  run(r: Recorder, mslMs: number): Promise<void>
  /** [client, server] after each row. */
  expected: Array<[State, State]>
  /** The error the kernel client must see, if any. */
  clientError?: string
}

/** What one scenario showed: every row, and how it compares with what RFC 9293 says. */
export interface Outcome {
  name: string
  title: string
  client: string
  server: string
  rows: Row[]
  expected: Array<[State, State]>
  clientError: string | null
  problems: string[]
}

/** The steps whose states are not the ones RFC 9293 says. */
export function mismatches(o: Outcome): Set<number> {
  const wrong = new Set<number>()
  o.rows.forEach((row, i) => {
    const want = o.expected[i]
    if (want === undefined || want[0] !== row.client || want[1] !== row.server) wrong.add(i)
  })
  return wrong
}

async function open(r: Recorder): Promise<void> {
  await r.start()
  await r.connect()
  await r.flow()
}

const OPENING: Array<[State, State]> = [
  ['CLOSED', 'LISTEN'], // start
  ['SYN-SENT', 'LISTEN'], // connect()
  ['SYN-SENT', 'SYN-RECEIVED'], // SYN ->
  ['ESTABLISHED', 'SYN-RECEIVED'], // <- SYN,ACK
  ['ESTABLISHED', 'ESTABLISHED'], // ACK ->
]

/** The four-way close, the client first: the first scenario, and over IPv6 the last. */
async function clientClosesFirst(r: Recorder): Promise<void> {
  await open(r)
  await r.act('client: close()', () => { r.client!.end() })
  await r.flow()
  await r.act('server: close()', () => { r.server!.end() })
  await r.flow()
}

const CLIENT_CLOSES_FIRST: Array<[State, State]> = [
  ...OPENING,
  ['FIN-WAIT-1', 'ESTABLISHED'], // client close()
  ['FIN-WAIT-1', 'CLOSE-WAIT'], // FIN ->
  ['FIN-WAIT-2', 'CLOSE-WAIT'], // <- ACK
  ['FIN-WAIT-2', 'LAST-ACK'], // server close()
  ['TIME-WAIT', 'LAST-ACK'], // <- FIN
  ['TIME-WAIT', 'CLOSED'], // ACK ->
]

export const SCENARIOS: Scenario[] = [
  {
    name: 'client-closes-first',
    title: 'The client closes first: the four-way close',
    lesson: 'The client moves FIN-WAIT-1 -> FIN-WAIT-2 when the ACK of its FIN arrives, not when a FIN does; the end that closes first waits in TIME-WAIT.',
    listening: true,
    run: clientClosesFirst,
    expected: CLIENT_CLOSES_FIRST,
  },
  {
    name: 'server-closes-first',
    title: 'The server closes first',
    lesson: 'Now tuntcp does the active close and holds TIME-WAIT for 2 MSL; the kernel passes CLOSE-WAIT and LAST-ACK.',
    listening: true,
    async run(r, mslMs) {
      await open(r)
      await r.act('server: close()', () => { r.server!.end() })
      await r.flow()
      await r.act('client: close()', () => { r.client!.end() })
      await r.flow()
      await r.wait(`(2 MSL = ${(2 * mslMs) / 1000} s later)`, 2 * mslMs + 200)
    },
    expected: [
      ...OPENING,
      ['ESTABLISHED', 'FIN-WAIT-1'], // server close()
      ['CLOSE-WAIT', 'FIN-WAIT-1'], // <- FIN
      ['CLOSE-WAIT', 'FIN-WAIT-2'], // ACK ->
      ['LAST-ACK', 'FIN-WAIT-2'], // client close()
      ['LAST-ACK', 'TIME-WAIT'], // FIN ->
      ['CLOSED', 'TIME-WAIT'], // <- ACK
      ['CLOSED', 'CLOSED'], // 2MSL timer
    ],
  },
  {
    name: 'simultaneous-close',
    title: 'Both close at once: CLOSING on both sides',
    lesson: 'Each FIN arrives while its receiver is in FIN-WAIT-1 with its own FIN not yet acknowledged: FIN-WAIT-1 -> CLOSING, then TIME-WAIT on both sides.',
    listening: true,
    async run(r) {
      await open(r)
      await r.act('both: close()', async () => {
        r.server!.end()
        await new Promise(resolve => setTimeout(resolve, 20)) // the server's FIN is first on the wire
        r.client!.end()
      })
      await r.flow()
    },
    expected: [
      ...OPENING,
      ['FIN-WAIT-1', 'FIN-WAIT-1'], // both close()
      ['CLOSING', 'FIN-WAIT-1'], // <- FIN (server's)
      ['CLOSING', 'CLOSING'], // FIN -> (client's)
      ['CLOSING', 'TIME-WAIT'], // ACK -> (client acknowledges the server's FIN)
      ['TIME-WAIT', 'TIME-WAIT'], // <- ACK
    ],
  },
  {
    name: 'abort',
    title: 'An abort: the server resets the connection',
    lesson: 'ABORT sends RST and deletes the TCB at once; no FIN, no TIME-WAIT. The kernel application sees ECONNRESET.',
    listening: true,
    async run(r) {
      await open(r)
      await r.act('server: destroy() (ABORT)', () => { r.server!.destroy() })
      await r.flow()
    },
    expected: [
      ...OPENING,
      ['ESTABLISHED', 'CLOSED'], // destroy()
      ['CLOSED', 'CLOSED'], // <- RST
    ],
    clientError: 'ECONNRESET',
  },
  {
    name: 'refused',
    title: 'Connection refused: nobody listens on the port',
    lesson: 'A SYN that matches no TCB and no listener gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (RFC 9293 3.10.7.1); the client gives up with ECONNREFUSED.',
    listening: false,
    async run(r) {
      await r.start()
      await r.connect()
      await r.flow()
    },
    expected: [
      ['CLOSED', 'CLOSED'], // start
      ['SYN-SENT', 'CLOSED'], // connect()
      ['SYN-SENT', 'CLOSED'], // SYN ->
      ['CLOSED', 'CLOSED'], // <- RST,ACK
    ],
    clientError: 'ECONNREFUSED',
  },
  {
    name: 'ipv6',
    title: 'The four-way close over IPv6',
    lesson: 'The same TCP over IPv6: the states and segments do not depend on the IP version; only the headers (40 bytes) and the MSS (MTU - 60) do.',
    listening: true,
    ipv6: true,
    run: clientClosesFirst,
    expected: CLIENT_CLOSES_FIRST,
  },
]
