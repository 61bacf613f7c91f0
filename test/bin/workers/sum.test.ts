// serve --workers adds up its workers' counters for the summary at exit and for tuntcp ss.
import { expect, it } from 'vitest'
import { Counters } from '../../../src/stack/counters'
import { sumCounters } from '../../../src/bin/workers/sum'

it('adds every counter, and the drops and states entered reason by reason', () => {
  const a = new Counters()
  a.packetsIn = 10
  a.passiveOpens = 3
  a.drop('bad-checksum')
  a.enter('ESTABLISHED')
  const b = new Counters()
  b.packetsIn = 5
  b.passiveOpens = 4
  b.pingsAnswered = 2
  b.drop('bad-checksum')
  b.drop('ip-version')
  b.enter('ESTABLISHED')
  b.enter('CLOSED')
  const total = sumCounters([a.toJSON(), b.toJSON()])
  expect(total).toBeInstanceOf(Counters)
  expect(total.packetsIn).toBe(15)
  expect(total.passiveOpens).toBe(7)
  expect(total.pingsAnswered).toBe(2)
  expect(total.drops).toEqual({ 'bad-checksum': 2, 'ip-version': 1 })
  expect(total.entered).toEqual({ ESTABLISHED: 2, CLOSED: 1 })
  expect(total.format()).toContain('passive opens 7')
})

it('of no workers is all zero', () => {
  expect(sumCounters([]).toJSON()).toEqual(new Counters().toJSON())
})
