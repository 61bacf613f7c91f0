// `npm run coverage:states [-- FILTER...] [--strict]`: run the in-memory tests (the
// packet scripts of test/scripts included, through their vitest file) while
// recording every (state, event) pair the connections go through, then print which
// arcs of the RFC 9293 state diagram were taken, by which causes, and the matrix of
// (state, event) pairs. --strict exits 1 when an arc was never taken.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startVitest } from 'vitest/node'
import { StateCoverage, type CoverageData } from '../src/testkit/coverage/state-coverage'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { strict: { type: 'boolean', default: false } } })
const dir = mkdtempSync(join(tmpdir(), 'tuntcp-states-'))
process.env.STATE_COVERAGE_DIR = dir
const vitest = await startVitest('test', positionals, {
  run: true, watch: false, reporters: [{}], // quiet: the report below is the output
  setupFiles: [join(import.meta.dirname, 'state-coverage-setup.ts')],
})
await vitest?.close()
const failed = vitest === undefined || vitest.state.getCountOfFailedTests() > 0
for (const file of vitest?.state.getFailedFilepaths() ?? []) console.log(`failed: ${file}`)

const coverage = new StateCoverage()
const files = readdirSync(dir)
for (const f of files) coverage.merge(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CoverageData)
rmSync(dir, { recursive: true, force: true })
console.log(`\nState coverage of ${files.length} test files\n`)
console.log(coverage.format())
if (failed) console.log('\n(some tests failed: the coverage above is of the run as it went)')
process.exitCode = failed || (values.strict && coverage.missingArcs().length > 0) ? 1 : 0
