/** TarWriter as a web ReadableStream (what `Bun.spawn({ stdin })` and `pipeTo` consume). */
import { CancelledError } from "../errors.ts";
import type { TarWriter } from "./tar.ts";

/**
 * Wrap a writer in a byte stream that pulls one chunk at a time (backpressure: nothing is read
 * from disk until the consumer asks). `prepare` runs on the first pull, so its errors, like the
 * writer's, reach the consumer as a stream error rather than a truncated archive.
 */
export function tarStream(prepare: () => Promise<TarWriter>, signal?: AbortSignal): ReadableStream<Uint8Array> {
  let writer: TarWriter | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          signal?.throwIfAborted();
          writer ??= await prepare();
          const chunk = writer.next();
          if (chunk) controller.enqueue(chunk);
          else controller.close();
        } catch (e) {
          writer?.close();
          controller.error(signal?.aborted ? new CancelledError("Sending the build context was cancelled") : e);
        }
      },
      cancel() {
        writer?.close();
      },
    },
    { highWaterMark: 1 },
  );
}
