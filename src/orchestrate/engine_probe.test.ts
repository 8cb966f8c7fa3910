import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { defineFlavor, type ProbeResult } from "../builder/flavor.ts";
import { RuntimeError } from "../errors.ts";
import { probeEngine } from "./engine_probe.ts";

const flavor = (probe?: () => Promise<ProbeResult>) =>
  defineFlavor({ name: "fake", type: "image_builder", contractVersion: 2, description: "x", config: Type.Object({}), probe, implementation: async () => { throw new Error("not loaded"); } });
const live = new AbortController().signal;

describe("probeEngine", () => {
  test("an available engine or a flavor without a probe: nothing thrown", async () => {
    await probeEngine(flavor(async () => ({ available: true })), {}, live);
    await probeEngine(flavor(), {}, live);
  });

  test("an unavailable engine: one RuntimeError line with the reason and the hint", async () => {
    const err = await probeEngine(flavor(async () => ({ available: false, reason: "The daemon at unix:///x.sock is not reachable:\n  dial unix: no such file", hint: "start it" })), {}, live).catch((e) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe("The daemon at unix:///x.sock is not reachable: dial unix: no such file (checked before building: nothing was built)");
    expect(err.hint).toBe("start it");
  });

  test("a cancel during the probe wins over its answer", async () => {
    const abort = new AbortController();
    const reason = new DOMException("cancelled", "AbortError");
    const err = await probeEngine(flavor(async () => (abort.abort(reason), { available: false, reason: "down" })), {}, abort.signal).catch((e) => e);
    expect(err).toBe(reason);
  });
});
