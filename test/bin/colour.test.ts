// When tuntcp colours its output: NO_COLOR (no-color.org), FORCE_COLOR, else a terminal.
import { expect, it } from 'vitest'
import { useColour } from '../../src/bin/colour'

const tty = { isTTY: true }
const pipe = { isTTY: false }

it('colours a terminal and not a pipe or a file when neither variable is set', () => {
  expect(useColour(tty, {})).toBe(true)
  expect(useColour(pipe, {})).toBe(false)
  expect(useColour({}, {})).toBe(false) // a file stream has no isTTY at all
})

it('never colours with NO_COLOR set and not empty, whatever FORCE_COLOR says', () => {
  for (const value of ['1', '0', 'yes']) {
    expect(useColour(tty, { NO_COLOR: value })).toBe(false)
    expect(useColour(pipe, { NO_COLOR: value, FORCE_COLOR: '1' })).toBe(false)
  }
})

it('takes an empty NO_COLOR as not set (no-color.org)', () => {
  expect(useColour(tty, { NO_COLOR: '' })).toBe(true)
  expect(useColour(pipe, { NO_COLOR: '' })).toBe(false)
  expect(useColour(pipe, { NO_COLOR: '', FORCE_COLOR: '1' })).toBe(true)
})

it('colours even a pipe with FORCE_COLOR, unless it is 0 or false', () => {
  for (const value of ['1', '2', '3', 'true', '']) expect(useColour(pipe, { FORCE_COLOR: value })).toBe(true)
  for (const value of ['0', 'false']) {
    expect(useColour(pipe, { FORCE_COLOR: value })).toBe(false)
    expect(useColour(tty, { FORCE_COLOR: value })).toBe(false)
  }
})

it('reads process.env by default', () => {
  const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR }
  try {
    delete process.env.NO_COLOR
    process.env.FORCE_COLOR = '1'
    expect(useColour(pipe)).toBe(true)
    process.env.NO_COLOR = '1'
    expect(useColour(pipe)).toBe(false)
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
})
