// Whether to print ANSI colours: the one place that decides, as most tools now do
// (https://no-color.org; FORCE_COLOR as Node and the supports-color package read it).

/**
 * NO_COLOR set and not empty: never. Else FORCE_COLOR set: always (even into a pipe or
 * a file), unless it is '0' or 'false', which turn colour off as in Node. Else only when
 * `stream` is a terminal.
 */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false'
  return stream.isTTY === true
}
