/**
 * Feeds a ReadableStream into a subprocess's stdin pipe ourselves instead of handing the stream
 * to `Bun.spawn`: Bun closes the pipe when the stream fails, and the reader then sees a clean
 * end of input. For a build context that is a lie — Go's archive/tar (docker) accepts a tar cut
 * at an entry boundary as complete — so the failure must be seen here, the pipe must stay open
 * until the process is stopped, and the caller must report the stream's error.
 */
import type { FileSink } from "bun";

export type FeedOutcome =
  /** Every chunk written and the pipe closed: the process can have seen all of it. */
  | { kind: "complete"; bytes: number }
  /** The stream itself failed (e.g. a context file vanished); the pipe was left open. */
  | { kind: "source-failed"; error: unknown; bytes: number }
  /** The pipe refused more (EPIPE: the process closed stdin or exited) before the stream ended. */
  | { kind: "unread"; bytes: number };

export interface StdinFeed {
  /** Settles once the feed ends one way or another; never rejects. */
  readonly outcome: Promise<FeedOutcome>;
  /** The source failure as soon as it happens, for stopping the process right away. */
  onSourceFailure(fn: (error: unknown) => void): void;
  /** Stop feeding (the process is gone): cancel the source, close the pipe. */
  stop(): Promise<void>;
}

export function feedStdin(stream: ReadableStream<Uint8Array>, sink: FileSink): StdinFeed {
  const reader = stream.getReader();
  let listener: ((error: unknown) => void) | undefined;
  let settled = false;
  let bytes = 0;

  const closeSink = async () => {
    try {
      await sink.end();
    } catch {
      // the process is gone: nothing more to close
    }
  };

  const outcome = (async (): Promise<FeedOutcome> => {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        // Do NOT close the pipe: the process would read a clean end of a short input.
        listener?.(error);
        return { kind: "source-failed", error, bytes };
      }
      if (chunk.done) break;
      try {
        // write() returns a promise when the pipe is full: it must be awaited, or its EPIPE
        // surfaces as an unhandled rejection instead of here.
        await sink.write(chunk.value);
        await sink.flush(); // resolves once the pipe took the data: this is the backpressure
      } catch {
        return { kind: "unread", bytes };
      }
      bytes += chunk.value.length;
    }
    try {
      await sink.end();
    } catch {
      return { kind: "unread", bytes };
    }
    return { kind: "complete", bytes };
  })().finally(() => (settled = true));

  return {
    outcome,
    onSourceFailure(fn) {
      listener = fn;
    },
    async stop() {
      if (!settled) await reader.cancel().catch(() => {});
      await closeSink();
    },
  };
}
