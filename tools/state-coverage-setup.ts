// Vitest setup file used by tools/state-coverage.ts: records the state coverage of
// one test file and leaves it in $STATE_COVERAGE_DIR for the tool to add up.

import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { instrument } from '../src/testkit/coverage/instrument'
import { StateCoverage } from '../src/testkit/coverage/state-coverage'

const dir = process.env.STATE_COVERAGE_DIR
if (dir) {
  const coverage = new StateCoverage()
  const undo = instrument(coverage)
  afterAll(() => {
    undo()
    writeFileSync(join(dir, `${randomUUID()}.json`), JSON.stringify(coverage.data))
  })
}
