// The flags of `npm run bench` (bench/args.mjs): what each turns into, and the flags it refuses.

import { describe, expect, it } from 'vitest'
import { parseBenchArgs } from '../../bench/args.mjs'

describe('parseBenchArgs', () => {
  it('gives the defaults for no flags', () => {
    expect(parseBenchArgs([])).toEqual({
      ok: true, quick: false, only: null, profileArg: null, workersArg: null, workers: null, rowsArg: null, rows: null, peer: null,
    })
  })

  it('reads --peer=gvisor beside the other flags, keeping the ones net.mjs is handed as given', () => {
    const r = parseBenchArgs(['--quick', '--only=net', '--peer=gvisor', '--rows=ab-c1,rtt', '--workers=2'])
    expect(r).toMatchObject({ ok: true, quick: true, only: 'net', peer: 'gvisor', rows: ['ab-c1', 'rtt'], rowsArg: '--rows=ab-c1,rtt', workers: 2, workersArg: '--workers=2' })
  })

  it('keeps --profile with or without a row', () => {
    expect(parseBenchArgs(['--profile'])).toMatchObject({ ok: true, profileArg: '--profile' })
    expect(parseBenchArgs(['--profile=wrk'])).toMatchObject({ ok: true, profileArg: '--profile=wrk' })
  })

  it.each([
    [['--peer=lwip'], '--peer takes gvisor'],
    [['--peer'], '--peer takes gvisor'],
    [['--rows=ab-c1,nope'], 'no row "nope"'],
    [['--workers=1'], '--workers takes'],
    [['--workers=two'], '--workers takes'],
    [['--only=all'], '--only takes'],
    [['--gvisor'], 'unknown flag "--gvisor"'],
  ])('refuses %j', (args, message) => {
    const r = parseBenchArgs(args)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toContain(message)
  })
})
