// Types for scripts/build.mjs (plain JavaScript: it runs before anything is compiled).
export const ROOT: string;
export function sources(root?: string): string[];
export function sourceDigest(root?: string): string;
export function sourceStats(root?: string): string[];
/** null when dist/ matches src/ exactly; else why not */
export function staleReason(root?: string): string | null;
export function build(root?: string): Promise<{ files: number; ms: number }>;
