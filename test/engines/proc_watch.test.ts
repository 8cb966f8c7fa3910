/** The shared process watcher (_proc_watch.ts) sees what it must, and tells a fork from its exec. */
import { describe, expect, test } from "bun:test";
import { isCommand, watchProcesses } from "./_proc_watch.ts";

describe("watchProcesses", () => {
  test("a child's argv and environment are seen; its own exec'd argv is not mistaken for its parent's", async () => {
    const tag = `IMGB_WATCH_${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
    const watch = await watchProcesses({ argv: [`${tag}-arg`], environ: [`${tag}=`] });
    const argv = ["sh", "-c", `sleep 0.3 # ${tag}-arg`];
    await Bun.spawn(argv, { env: { PATH: process.env.PATH!, [tag]: "secret" } }).exited;
    const hits = await watch.stop();
    const argvHit = hits.find((h) => h.kind === "argv" && h.needle === 0);
    const envHit = hits.find((h) => h.kind === "environ" && h.needle === 0 && h.argv === argv.join(" "));
    expect(argvHit?.argv).toBe(argv.join(" "));
    expect(envHit).toBeDefined();
    expect(envHit!.ancestors).toContain(process.pid);
    expect(isCommand(envHit!, argv)).toBe(true);
    expect(isCommand(envHit!, ["/usr/local/bin/imgb", "build"])).toBe(false); // an engine's hit stays a hit
  });
});
