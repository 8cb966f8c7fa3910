/** Entry point of the split archive writer's worker thread (_split.ts); scripts/build.ts bundles it into the binary. */
import { parentPort, workerData } from "node:worker_threads";
import { runSplitWorker } from "./_split.ts";

runSplitWorker(
  workerData,
  (listener) => parentPort!.on("message", listener),
  () => parentPort!.close(),
);
