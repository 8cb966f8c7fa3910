import { describe, expect, test } from "bun:test";
import { buildFlagOverrides } from "./_build_flags.ts";
import { messageObject, wantsJsonStderr } from "./io.ts";

const none = { push: false, load: false, "no-cache": false, pull: false, platform: [] as string[] };

describe("build flags as --set overrides", () => {
  test("each flag is the --set it stands for; platforms joined and deduplicated", () => {
    expect(buildFlagOverrides(none)).toEqual([]);
    expect(buildFlagOverrides({ ...none, "no-cache": true, pull: true, platform: ["linux/amd64,linux/arm64", " linux/arm64", "linux/arm/v7"] })).toEqual([
      "*.no_cache=true",
      "*.pull=true",
      "*.platforms=linux/amd64,linux/arm64,linux/arm/v7",
    ]);
  });

  test("refused: --push with --load, a platform that is not os/arch[/variant]", () => {
    expect(() => buildFlagOverrides({ ...none, push: true, load: true })).toThrow("Use either --push or --load, not both");
    for (const bad of ["linux", "linux/", "Linux/amd64", "linux/amd64/v8/x", ""]) expect(() => buildFlagOverrides({ ...none, platform: [bad] })).toThrow(`Invalid --platform '${bad}'`);
  });
});

describe("--progress json on stderr", () => {
  test("asked for before any --, in either spelling", () => {
    expect(wantsJsonStderr(["build", "--progress", "json"])).toBe(true);
    expect(wantsJsonStderr(["build", "--progress=json", "app"])).toBe(true);
    expect(wantsJsonStderr(["build", "--progress", "plain"])).toBe(false);
    expect(wantsJsonStderr(["build", "--", "--progress=json"])).toBe(false);
  });

  test("message lines become warning or info objects", () => {
    expect(messageObject("warning: store is read-only\n")).toEqual({ type: "warning", message: "store is read-only" });
    expect(messageObject("imgb: image builder: docker (auto)")).toEqual({ type: "info", message: "imgb: image builder: docker (auto)" });
  });
});
