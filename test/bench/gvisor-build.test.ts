// bench/gvisor/ (gVisor's netstack serving the bench's services) builds with the Go and gVisor
// packages installed here, and the binary it makes knows its arguments. Skipped, saying why,
// where Go or the gVisor sources are not installed (CI does not install them).

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildGvisor, gvisorBlocker } from '../../bench/gvisor.mjs'

const blocker = gvisorBlocker()
if (blocker) console.log(`test/bench/gvisor-build.test.ts skipped: ${blocker}`)

describe.skipIf(blocker !== null)('bench/gvisor', () => {
  it('builds, and the binary refuses to start without its four arguments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuntcp-gvisor-'))
    try {
      const out = join(dir, 'gvisor-peer')
      expect(buildGvisor(out)).toEqual({ ok: true })
      const r = spawnSync(out, [], { encoding: 'utf8', timeout: 10_000 })
      expect(r.status).toBe(2)
      expect(r.stderr).toContain('usage: gvisor-peer DEV ADDR4 ADDR6 MTU')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
