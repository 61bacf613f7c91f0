// A real run of the demo's first scenario (sudo npx tuntcp demo --only client-closes-first
// --json): the rows the page and the ladder are drawn from, without root.
import type { PageScenario } from '../../src/bin/demo/html'
import { SCENARIOS } from '../../src/bin/demo/scenarios'

export const FOUR_WAY_CLOSE: PageScenario = {
  name: 'client-closes-first',
  title: SCENARIOS[0]!.title,
  lesson: SCENARIOS[0]!.lesson,
  client: '10.99.0.1:34589',
  server: '10.99.0.2:7',
  rows: [
    { step: 0, time: 0.3, event: 'start', client: 'CLOSED', server: 'LISTEN' },
    { step: 1, time: 1.0, event: 'client: connect()', client: 'SYN-SENT', server: 'LISTEN' },
    { step: 2, time: 78.5, event: 'client -> server  SYN seq=0', segment: { from: 'client', text: 'SYN seq=0', sentAt: 2.5, rst: false }, client: 'SYN-SENT', server: 'SYN-RECEIVED' },
    { step: 3, time: 148.3, event: 'server -> client  SYN,ACK seq=0 ack=1', segment: { from: 'server', text: 'SYN,ACK seq=0 ack=1', sentAt: 78.3, rst: false }, client: 'ESTABLISHED', server: 'SYN-RECEIVED' },
    { step: 4, time: 221.4, event: 'client -> server  ACK seq=1 ack=1', segment: { from: 'client', text: 'ACK seq=1 ack=1', sentAt: 148.8, rst: false }, client: 'ESTABLISHED', server: 'ESTABLISHED' },
    { step: 5, time: 690.9, event: 'client: close()', client: 'FIN-WAIT-1', server: 'ESTABLISHED' },
    { step: 6, time: 763.5, event: 'client -> server  FIN,ACK seq=1 ack=1', segment: { from: 'client', text: 'FIN,ACK seq=1 ack=1', sentAt: 691.2, rst: false }, client: 'FIN-WAIT-1', server: 'CLOSE-WAIT' },
    { step: 7, time: 833.8, event: 'server -> client  ACK seq=1 ack=2', segment: { from: 'server', text: 'ACK seq=1 ack=2', sentAt: 763.3, rst: false }, client: 'FIN-WAIT-2', server: 'CLOSE-WAIT' },
    { step: 8, time: 1304.6, event: 'server: close()', client: 'FIN-WAIT-2', server: 'LAST-ACK' },
    { step: 9, time: 1376.3, event: 'server -> client  FIN,ACK seq=1 ack=2', segment: { from: 'server', text: 'FIN,ACK seq=1 ack=2', sentAt: 1305.3, rst: false }, client: 'TIME-WAIT', server: 'LAST-ACK' },
    { step: 10, time: 1448.1, event: 'client -> server  ACK seq=2 ack=2', segment: { from: 'client', text: 'ACK seq=2 ack=2', sentAt: 1376.5, rst: false }, client: 'TIME-WAIT', server: 'CLOSED' },
  ],
  expected: [['CLOSED', 'LISTEN'], ['SYN-SENT', 'LISTEN'], ['SYN-SENT', 'SYN-RECEIVED'], ['ESTABLISHED', 'SYN-RECEIVED'], ['ESTABLISHED', 'ESTABLISHED'], ['FIN-WAIT-1', 'ESTABLISHED'], ['FIN-WAIT-1', 'CLOSE-WAIT'], ['FIN-WAIT-2', 'CLOSE-WAIT'], ['FIN-WAIT-2', 'LAST-ACK'], ['TIME-WAIT', 'LAST-ACK'], ['TIME-WAIT', 'CLOSED']],
  clientError: null,
  problems: [],
}
