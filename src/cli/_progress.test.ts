import { describe, expect, test } from "bun:test";
import type { ImageResult } from "../orchestrate/events.ts";
import { RuntimeError } from "../errors.ts";
import { renderer } from "./_progress.ts";
import type { Io } from "./io.ts";

function fakeIo() {
  const err: string[] = [];
  const raw: string[] = [];
  const io: Io = {
    out() {},
    err: (l) => void err.push(l),
    errRaw: (t) => void raw.push(t),
    debug() {},
    color: false,
    isDebug: false,
    signal: new AbortController().signal,
    env: {},
    cwd: "/",
  };
  return { io, err, raw };
}

const result = (image: string, reused = false): ImageResult => ({ image, ref: `${image}@sha256:${"a".repeat(64)}`, checksum: "sha256:x", reused, durationMs: 1500 });

describe("progress renderers", () => {
  test("plain: one prefixed line per event", () => {
    const { io, err } = fakeIo();
    const r = renderer("plain", io, ["app", "base"], false);
    r.event({ type: "log", image: "base", line: "#1 DONE" });
    r.event({ type: "done", image: "base", result: result("base", true) });
    r.event({ type: "failed", image: "app", error: new RuntimeError("x", "Build of image 'app' failed") });
    r.close();
    expect(err).toEqual(["base | #1 DONE", `base | reused in 1.5s: base@sha256:${"a".repeat(64)}`, "app  | Build of image 'app' failed"]);
  });

  test("auto is plain when stderr is not a terminal, tty otherwise", () => {
    const plain = fakeIo();
    renderer("auto", plain.io, ["a"], false).event({ type: "log", image: "a", line: "x" });
    expect(plain.err).toEqual(["a | x"]);
    const tty = fakeIo();
    const r = renderer("auto", tty.io, ["a"], true);
    r.event({ type: "start", image: "a" });
    r.close();
    expect(tty.raw.join("")).toContain("\x1b[2K");
  });

  test("tty: one live line per image, redrawn in place; errors in full at the end", () => {
    const { io, err, raw } = fakeIo();
    const r = renderer("tty", io, ["app", "base"], true);
    r.event({ type: "start", image: "base" });
    r.event({ type: "step", image: "base", step: "build" });
    r.event({ type: "log", image: "base", line: "#5 [2/2] COPY   x /x" });
    r.event({ type: "done", image: "base", result: result("base") });
    r.event({ type: "start", image: "app" });
    r.event({ type: "failed", image: "app", error: new RuntimeError("x", "boom\nline two") });
    r.close();
    const screen = raw.at(-1)!;
    expect(screen.startsWith("\x1b[2A")).toBe(true); // back up over the two image lines
    expect(screen).toMatch(/app +failed/);
    expect(screen).toMatch(/base +built/);
    expect(err).toEqual(["app: boom\nline two"]);
  });

  test("json: one event object per line", () => {
    const { io, err, raw } = fakeIo();
    const r = renderer("json", io, ["a"], false);
    r.event({ type: "failed", image: "a", error: new RuntimeError("build.failed", "nope") });
    expect(err).toEqual([]);
    expect(raw).toHaveLength(1);
    expect(raw[0]).toEndWith("}\n");
    expect(JSON.parse(raw[0]!)).toMatchObject({ type: "failed", image: "a", error: { code: "build.failed", message: "nope" } });
  });
});
