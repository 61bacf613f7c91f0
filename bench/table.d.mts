// Types for bench/table.mjs (the bench is plain JavaScript; tests in TypeScript import it).

/** One server's result in a row: the median, or the error that stopped it. */
export interface SideResult {
  value: number | null
  note?: string | null
  error?: string | null
}

export interface Row {
  id: string
  label: string
  unit: string
  better: 'higher' | 'lower'
  reps: number
  kernel?: SideResult
  tuntcp?: SideResult
  tuntcpN?: SideResult
  gvisor?: SideResult
}

export declare function fmt(v: number | null | undefined): string
export declare function relative(row: Row, side?: string, base?: string): number | null
export declare function table(rows: Row[], threads?: number | null): string
