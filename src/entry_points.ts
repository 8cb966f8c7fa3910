/**
 * What the binary is compiled from (scripts/build.ts and scripts/release.ts): the CLI, and each
 * worker thread's entry, which Bun loads by its path inside the binary (/$bunfs/root/...), so it
 * must be an entry point of its own: src/context/_parts.ts loads context/_split_worker.js.
 */
export const ENTRY_POINTS = ["src/main.ts", "src/context/_split_worker.ts"];
