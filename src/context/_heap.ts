/**
 * Bounded memory for the per-file loops of a context (walk, tar writer, directory copy).
 *
 * Each file costs a few short-lived JS objects: names and paths, and where node:fs does the
 * stats (no libc: _file_io.ts) a Stats object per lstat and fstat, ~250 bytes each. JavaScriptCore collects them only when its
 * heap-growth heuristics say so, and for a loop that allocates little else that is late: measured
 * (issue #18, 40,000 files), anonymous memory grew by ~22 MB during the tar writer and ~24 MB
 * during the walk, nearly all of it dead Stats objects, which the allocator then keeps as its
 * high-water mark. An eden (young-generation) collection every `FILES_PER_COLLECTION` files keeps
 * it flat; it costs well under a millisecond, as the live set it scans is small (measured: no
 * change in wall time at one every ~2,000 files).
 *
 * A loop that long is also where the binary's startup JIT policy stops paying (src/jit_policy.ts):
 * at the first collection it goes back to the normal one.
 */
import { normalJit } from "../jit_policy.ts";
import { stayBelowFTL } from "./_tiers.ts";

export const FILES_PER_COLLECTION = 2048;

/**
 * Every `FULL_COLLECTION`th file a full collection instead. Eden collections leave the names
 * readdir returned, which outlive a young generation's cycle, to grow the heap: measured at
 * 200,000 files, a full collection every 16,384 files lowered the walk's peak by ~5 MB, each
 * one ~2 ms (the live heap is small: the entry table is typed arrays, which are not scanned).
 * A walk of fewer files never pays one.
 */
export const FULL_COLLECTION = 16384;

/**
 * Output chunks handed to a consumer (a stream's reader: `docker build -`, a CompressionStream)
 * are fresh 256 KiB buffers, outside the JavaScript heap until their wrapper is collected and
 * swept: a full collection every this many bytes of them frees those the consumer is done with
 * (an eden collection does not sweep them: measured worse). Measured, peak RSS: the binary's
 * `--gzip -o -` of one 256 MiB file 62.5-63 MB -> 56.7-56.9, of 40,000 small files 64.6-64.9 ->
 * 59.7, wall time unchanged (7.6-8.4 s, 2.0-2.4 s); `BuildContext.stream()` fed to a pipe as the
 * docker flavor does (feedStdin), from source: 256 MiB file 68-71 MB -> 54, 40,000 files 71.5
 * -> 60. Every 4 MiB: 56 MB for the small tree, but a full collection costs ~2 ms (a 1 GB
 * context would pay 256 of them); every 16 MiB: 62 MB.
 */
export const CHUNK_BYTES_PER_COLLECTION = 8 << 20;

/** Count one file; every `FILES_PER_COLLECTION`th call runs a collection (see above). */
export class GarbageBound {
  private n = 0;
  private chunkBytes = 0;

  /** Count a fresh output chunk of `bytes` handed over (see CHUNK_BYTES_PER_COLLECTION). */
  handedOver(bytes: number): void {
    this.chunkBytes += bytes;
    if (this.chunkBytes < CHUNK_BYTES_PER_COLLECTION) return;
    this.chunkBytes = 0;
    Bun.gc(true);
  }

  tick(): void {
    if (++this.n % FILES_PER_COLLECTION !== 0) return;
    if (this.n === FILES_PER_COLLECTION) normalJit();
    Bun.gc(this.n % FULL_COLLECTION === 0);
  }
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(GarbageBound);
