/**
 * Entry point of the worker thread that shares context work with the main thread (_parts.ts):
 * archive parts (_split.ts) or directory copies (_materialize.ts). scripts/build.ts bundles it
 * into the binary.
 */
import { parentPort, workerData } from "node:worker_threads";
import { copyPartWorker } from "./_materialize.ts";
import { runPartsWorker } from "./_parts.ts";
import { tarPartWorker } from "./_split.ts";

runPartsWorker(
  workerData,
  (task) => (task.kind === "tar" ? tarPartWorker(task) : copyPartWorker(task)),
  (listener) => parentPort!.on("message", listener),
  () => parentPort!.close(),
);
