// Every script under test/scripts/ runs and passes: one test per file, so a
// failure names the script, and its message is what `tuntcp script` prints.
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { expect, it } from 'vitest'
import { formatFailure, runScriptFile } from '../../../src/testkit/script/index'

const ROOT = join(__dirname, '../../scripts')

/** The .pkt files under a folder, sorted, as paths from the repository root. */
function scripts(dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...scripts(path))
    else if (entry.name.endsWith('.pkt')) found.push(path)
  }
  return found.sort()
}

const files = scripts(ROOT)

it('finds the scripts', () => {
  expect(files.length).toBeGreaterThan(30)
})

it.each(files.map(f => [relative(ROOT, f), f]))('%s', async (_name, file) => {
  const result = await runScriptFile(file)
  expect(result.ok, result.failure === undefined ? '' : formatFailure(result.failure)).toBe(true)
})
