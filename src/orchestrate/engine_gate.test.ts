import { describe, expect, test } from "bun:test";
import { BaseImageBuilder } from "../builder/base_image_builder.ts";
import { RuntimeError } from "../errors.ts";
import { EngineGate, engineGateOf, gatedBuilder, Slots } from "./engine_gate.ts";
import { stillExists } from "./reuse.ts";

const tick = () => new Promise((r) => setTimeout(r, 1));

/** A builder whose builds last until `release()`, counting how many run at once. */
function fakeBuilder() {
  const state = { running: 0, most: 0, builds: 0, tags: 0, waiting: [] as (() => void)[] };
  class Fake extends BaseImageBuilder<Record<string, unknown>> {
    async build(imageName: string): Promise<string> {
      state.builds++;
      state.running++;
      state.most = Math.max(state.most, state.running);
      await new Promise<void>((r) => state.waiting.push(r));
      state.running--;
      return imageName;
    }
    override async tagImage(): Promise<void> {
      state.tags++;
    }
    override async localImageId(): Promise<string | undefined> {
      return "sha256:local";
    }
  }
  const release = () => {
    for (const r of state.waiting.splice(0)) r();
  };
  return { Fake, state, release };
}

const context = { dockerfile: "Dockerfile" } as never;
const options = {} as never;

describe("EngineGate", () => {
  test("the probe runs once, on the first open, however many wait", async () => {
    let probes = 0;
    const gate = new EngineGate(async () => {
      probes++;
      await tick();
    });
    expect(gate.probed).toBe(false);
    expect(probes).toBe(0);
    await Promise.all([gate.open(), gate.open(), gate.open()]);
    await gate.open();
    expect(probes).toBe(1);
    expect(gate.probed).toBe(true);
    expect(gate.error).toBeUndefined();
  });

  test("a failed probe fails every waiting image with the same one error, and is not retried", async () => {
    let probes = 0;
    const down = new RuntimeError("build.engine-unavailable", "The Docker daemon at tcp://x is not reachable (checked before building: nothing was built)");
    const gate = new EngineGate(async () => {
      probes++;
      await tick();
      throw down;
    });
    const errors = await Promise.all([1, 2, 3].map(() => gate.open().then(() => undefined, (e: unknown) => e)));
    expect(errors).toEqual([down, down, down]);
    expect(errors.every((e) => e === down)).toBe(true);
    expect(await gate.open().catch((e: unknown) => e)).toBe(down);
    expect(probes).toBe(1);
    expect(gate.error).toBe(down);
  });
});

describe("Slots", () => {
  test("at most `size` tasks at once, the others in order", async () => {
    const slots = new Slots(2);
    const order: number[] = [];
    let running = 0;
    let most = 0;
    const task = (n: number) =>
      slots.run(async () => {
        running++;
        most = Math.max(most, running);
        order.push(n);
        await tick();
        running--;
        return n;
      });
    expect(await Promise.all([1, 2, 3, 4, 5].map(task))).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(slots.busy).toBe(0);
  });

  test("a failing task frees its slot", async () => {
    const slots = new Slots(1);
    await expect(slots.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await slots.run(async () => 7)).toBe(7);
    expect(slots.busy).toBe(0);
  });
});

describe("gatedBuilder", () => {
  test("only a build or a tag opens the gate; lookups do not", async () => {
    const { Fake, release } = fakeBuilder();
    let probes = 0;
    const gate = new EngineGate(async () => void probes++);
    const Gated = gatedBuilder(Fake, { gate, builds: new Slots(4) });
    const b = new Gated({}, { log() {}, signal: new AbortController().signal, report() {} });
    expect(await b.localImageId!("x")).toBe("sha256:local");
    expect(probes).toBe(0);
    await b.tagImage!("sha256:x", ["a:1"]);
    expect(probes).toBe(1);
    const built = b.build("app:1", context, options);
    await tick();
    release();
    expect(await built).toBe("app:1");
    expect(probes).toBe(1);
  });

  test("--jobs counts builds: 5 builds with 2 slots run 2 at a time, tags are not held back", async () => {
    const { Fake, state, release } = fakeBuilder();
    let changed = 0;
    const Gated = gatedBuilder(Fake, { gate: new EngineGate(async () => {}), builds: new Slots(2), changed: () => void changed++ });
    const env = { log() {}, signal: new AbortController().signal, report() {} };
    const builds = [1, 2, 3, 4, 5].map((n) => new Gated({}, env).build(`img${n}:1`, context, options));
    await tick();
    expect(state.running).toBe(2);
    // A tag while both slots are busy: not queued behind the builds.
    await new Gated({}, env).tagImage!("sha256:x", ["t:1"]);
    expect(state.tags).toBe(1);
    while (state.builds < 5 || state.running > 0) {
      release();
      await tick();
    }
    expect(await Promise.all(builds)).toEqual(["img1:1", "img2:1", "img3:1", "img4:1", "img5:1"]);
    expect(state.most).toBe(2);
    expect(changed).toBe(6); // five builds and one tag: the local image cache is dropped after each
  });

  test("a probe failure: no build starts, every build waiting fails with the probe's error", async () => {
    const { Fake, state } = fakeBuilder();
    const down = new RuntimeError("build.engine-unavailable", "down");
    const Gated = gatedBuilder(Fake, { gate: new EngineGate(async () => Promise.reject(down)), builds: new Slots(2) });
    const env = { log() {}, signal: new AbortController().signal, report() {} };
    const errors = await Promise.all([1, 2, 3].map((n) => new Gated({}, env).build(`img${n}:1`, context, options).catch((e: unknown) => e)));
    expect(errors).toEqual([down, down, down]);
    expect(state.builds).toBe(0);
  });

  test("a builder without tagImage stays without it (its local builds are never reused)", () => {
    class NoTag extends BaseImageBuilder<Record<string, unknown>> {
      async build(): Promise<string> {
        return "x";
      }
    }
    const Gated = gatedBuilder(NoTag, { gate: new EngineGate(async () => {}), builds: new Slots(1) });
    expect(new Gated({}, { log() {}, signal: new AbortController().signal, report() {} }).tagImage).toBeUndefined();
  });

  test("a local record whose image the engine does not find is forgotten only once the engine answered its probe", async () => {
    class Empty extends BaseImageBuilder<Record<string, unknown>> {
      async build(): Promise<string> {
        return "x";
      }
      override async localImageId(): Promise<string | undefined> {
        return undefined; // what a docker builder says when its daemon is not there, too
      }
    }
    const env = { log() {}, signal: new AbortController().signal, report() {} };
    const rec = { checksum: "sha256:c", image: "app", ref: "app:latest", imageId: "sha256:i", builtAt: "now" };
    const down = new RuntimeError("build.engine-unavailable", "down");
    const Down = gatedBuilder(Empty, { gate: new EngineGate(async () => Promise.reject(down)), builds: new Slots(1) });
    expect(await stillExists(rec, new Down({}, env), undefined, env.signal).catch((e: unknown) => e)).toBe(down);
    const Up = gatedBuilder(Empty, { gate: new EngineGate(async () => {}), builds: new Slots(1) });
    const up = new Up({}, env);
    expect(await stillExists(rec, up, undefined, env.signal)).toBe(false);
    expect(engineGateOf(up)?.probed).toBe(true);
    expect(engineGateOf(new Empty({}, env))).toBeUndefined();
  });
});
