// Reading and relaxing symbol versions, on a copy of a system binary (`true`).

import { execFileSync } from 'node:child_process'
import { copyFileSync, chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { listVersionNeeds, relaxVersions } from '../../../tools/jazzer/elf-versions'

const TRUE = '/bin/true'
const dir = mkdtempSync(join(tmpdir(), 'elf-versions-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe.runIf(process.platform === 'linux' && process.arch === 'x64' && existsSync(TRUE))('ELF symbol versions', () => {
  it('lists the versions a binary needs, by library', () => {
    const needs = listVersionNeeds(TRUE)
    expect(needs).toContain('libc.so.6 GLIBC_2.2.5')
    expect(needs.every(n => /^\S+\.so\.\d+ \S+$/.test(n))).toBe(true)
  })

  it('marks chosen versions weak and unversions chosen symbols, once, and the binary still runs', () => {
    const copy = join(dir, 'true')
    copyFileSync(TRUE, copy)
    chmodSync(copy, 0o755)
    expect(relaxVersions(copy, ['GLIBC_2.3.4'], ['__printf_chk'])).toEqual(['libc.so.6 GLIBC_2.3.4 weak', '__printf_chk unversioned'])
    expect(listVersionNeeds(copy)).toContain('libc.so.6 GLIBC_2.3.4 (weak)')
    expect(relaxVersions(copy, ['GLIBC_2.3.4'], ['__printf_chk'])).toEqual([])
    expect(() => execFileSync(copy)).not.toThrow()
  })

  it('refuses a file that is not ELF', () => {
    expect(() => listVersionNeeds(join(import.meta.dirname, 'elf-versions.test.ts'))).toThrow('not a 64-bit little-endian ELF file')
  })
})
