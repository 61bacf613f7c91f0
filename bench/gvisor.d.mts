// Types for bench/gvisor.mjs (the bench is plain JavaScript; tests in TypeScript import it).

export declare const GOPATH: string
export declare const GVISOR_BINARY: string
export declare const INSTALL_HINT: string
export declare function gvisorBlocker(): string | null
export declare function buildGvisor(out?: string): { ok: true } | { ok: false; message: string }
export declare function prepareGvisor(log?: (line: string) => void): string | null
