// Types for bench/args.mjs (the bench is plain JavaScript; tests in TypeScript import it).

export declare const ROW_IDS: string[]
export declare const PEERS: string[]
export declare const USAGE: string

export interface BenchArgs {
  ok: true
  quick: boolean
  only: 'net' | 'inproc' | 'lossy' | 'forward' | null
  profileArg: string | null
  workersArg: string | null
  workers: number | null
  rowsArg: string | null
  rows: string[] | null
  peer: 'gvisor' | null
}

export declare function parseBenchArgs(args: string[]): BenchArgs | { ok: false; message: string }
