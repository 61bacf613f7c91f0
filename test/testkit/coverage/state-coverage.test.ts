// State coverage: the event taxonomy, the report, and the known run that must take
// every arc of the RFC 9293 diagram: the packet scripts of test/scripts.

import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TRANSITIONS } from '../../../src/stack/tcp/state'
import { instrument } from '../../../src/testkit/coverage/instrument'
import { StateCoverage, eventOfCause, eventOfSegment } from '../../../src/testkit/coverage/state-coverage'
import { runScriptFile } from '../../../src/testkit/script/index'
import { Simulation } from '../../../src/testkit/sim'

const SCRIPTS = join(import.meta.dirname, '..', '..', 'scripts')

function scripts(dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...scripts(path))
    else if (entry.name.endsWith('.pkt')) found.push(path)
  }
  return found
}

describe('the events of RFC 9293 3.10', () => {
  it('names the event behind each cause a TCB gives for a state change', () => {
    expect(eventOfCause('active OPEN')).toBe('OPEN')
    expect(eventOfCause('SYN received (simultaneous open)')).toBe('rcv SYN')
    expect(eventOfCause('SYN,ACK received')).toBe('rcv SYN,ACK')
    expect(eventOfCause('ACK of FIN received')).toBe('rcv ACK')
    expect(eventOfCause('FIN with ACK of FIN received')).toBe('rcv FIN')
    expect(eventOfCause('FIN-WAIT-2 timeout')).toBe('FIN-WAIT-2 TIMEOUT')
    expect(eventOfCause('2MSL timeout')).toBe('TIME-WAIT TIMEOUT')
    expect(eventOfCause('new SYN in TIME-WAIT')).toBe('rcv SYN')
    expect(eventOfCause('CLOSE in SYN-SENT')).toBe('CLOSE')
    expect(eventOfCause('something new')).toBeNull()
  })

  it('classifies a segment by its control bits, RST first', () => {
    expect(eventOfSegment({ syn: true, ack: false, fin: false, rst: true }, 0)).toBe('rcv RST')
    expect(eventOfSegment({ syn: true, ack: true, fin: false, rst: false }, 0)).toBe('rcv SYN,ACK')
    expect(eventOfSegment({ syn: false, ack: true, fin: true, rst: false }, 10)).toBe('rcv FIN')
    expect(eventOfSegment({ syn: false, ack: true, fin: false, rst: false }, 10)).toBe('rcv data')
    expect(eventOfSegment({ syn: false, ack: true, fin: false, rst: false }, 0)).toBe('rcv ACK')
  })
})

describe('StateCoverage', () => {
  it('reports the arcs taken with their causes, and the ones never taken', () => {
    const c = new StateCoverage()
    c.arc('CLOSED', 'SYN-SENT', 'active OPEN')
    c.arc('SYN-SENT', 'ESTABLISHED', 'SYN,ACK received')
    c.arc('SYN-SENT', 'ESTABLISHED', 'SYN,ACK received')
    c.event('SYN-SENT', 'rcv SYN,ACK')
    c.event('ESTABLISHED', 'SEND')
    const report = c.format()
    expect(report).toContain('Arcs of the RFC 9293 state diagram taken: 2 of 25')
    expect(report).toMatch(/ {4}SYN-SENT -> ESTABLISHED +SYN,ACK received x2/)
    expect(report).toMatch(/ {2}! TIME-WAIT -> CLOSED +NEVER TAKEN/)
    expect(report).toContain('3 of 176 (state, event) pairs exercised.')
    expect(c.missingArcs()).toHaveLength(TRANSITIONS.length - 2)
    expect(c.data.pairs).toEqual({ 'CLOSED|OPEN': 1, 'SYN-SENT|rcv SYN,ACK': 1, 'ESTABLISHED|SEND': 1 })
  })

  it('adds up runs recorded apart (one per test file)', () => {
    const a = new StateCoverage()
    const b = new StateCoverage()
    a.arc('LAST-ACK', 'CLOSED', 'ACK of FIN received')
    b.arc('LAST-ACK', 'CLOSED', 'ACK of FIN received')
    b.arc('LAST-ACK', 'CLOSED', 'RST received')
    a.merge(JSON.parse(JSON.stringify(b.data)))
    expect(a.data.arcs['LAST-ACK>CLOSED']).toEqual({ 'ACK of FIN received': 2, 'RST received': 1 })
    a.event('LAST-ACK', 'rcv RST')
    b.event('LAST-ACK', 'rcv RST')
    a.merge(b.data)
    expect(a.data.pairs['LAST-ACK|rcv RST']).toBe(2)
  })

  it('records a live run: segments in the state they find, user calls, and every state change', async () => {
    const c = new StateCoverage()
    const undo = instrument(c)
    try {
      const sim = new Simulation({ seed: 1, link: { delayMs: 1 } })
      const server = sim.addStack('10.0.0.2', { mslMs: 100 })
      const client = sim.addStack('10.0.0.1', { mslMs: 100 })
      server.createServer(s => s.end('bye')).listen(13)
      client.connect({ host: '10.0.0.2', port: 13 }).resume()
      await sim.runUntilQuiet()
    } finally {
      undo()
    }
    expect(c.data.arcs['CLOSED>LISTEN']).toEqual({ 'passive OPEN': 1 })
    expect(c.data.arcs['ESTABLISHED>FIN-WAIT-1']).toEqual({ CLOSE: 1 })
    expect(c.data.arcs['TIME-WAIT>CLOSED']).toEqual({ '2MSL timeout': 1 })
    expect(c.data.pairs).toMatchObject({
      'CLOSED|OPEN': 2, 'LISTEN|rcv SYN': 1, 'SYN-SENT|rcv SYN,ACK': 1, 'ESTABLISHED|SEND': 1, 'ESTABLISHED|CLOSE': 1,
      'FIN-WAIT-2|rcv FIN': 1, 'LAST-ACK|rcv ACK': 1, 'TIME-WAIT|TIME-WAIT TIMEOUT': 1,
    })
    expect(c.data.pairs['LAST-ACK|ABORT']).toBeUndefined()
    expect(c.strayArcs()).toEqual([])
  })
})

describe('the packet scripts cover the diagram', () => {
  it('take every arc of the RFC 9293 state diagram (figure 5)', async () => {
    const c = new StateCoverage()
    const undo = instrument(c)
    const failed: string[] = []
    try {
      for (const file of scripts(SCRIPTS)) {
        const result = await runScriptFile(file)
        if (!result.ok) failed.push(file)
      }
    } finally {
      undo()
    }
    expect(failed).toEqual([])
    expect(c.missingArcs()).toEqual([])
    expect(c.strayArcs()).toEqual([])
  }, 60_000)
})
