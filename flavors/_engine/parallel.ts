/**
 * Jobs that run side by side and stand or fall together: the platforms of one multi-platform
 * image (docker's BuildKit builds, podman/buildah builds). Shared so that every flavor cancels
 * the same way: the first failure stops the others (a long emulated build need not finish for
 * nothing) and is the one reported, once every job has stopped — nothing outlives the call.
 */

/**
 * All results, in the jobs' order; else the first failure, once the other jobs have stopped:
 * they are cancelled (their signal aborts) when one fails. `outer` cancels all.
 */
export async function allOrFirstFailure<R>(jobs: ((signal: AbortSignal) => Promise<R>)[], outer: AbortSignal, onStopped: (index: number) => void): Promise<R[]> {
  const stop = new AbortController();
  const signal = AbortSignal.any([outer, stop.signal]);
  let first: { error: unknown; index: number } | undefined;
  const settled = await Promise.allSettled(
    jobs.map((job, index) =>
      job(signal).catch((error: unknown) => {
        if (first) {
          if (!outer.aborted) onStopped(index);
        } else {
          first = { error, index };
          stop.abort();
        }
        throw error;
      }),
    ),
  );
  if (first) throw first.error;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}

/** The jobs one after the other, in order; the first failure stops the rest. */
export async function inSequence<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const [i, item] of items.entries()) out.push(await fn(item, i));
  return out;
}
