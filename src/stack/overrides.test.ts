import { describe, expect, test } from "bun:test";
import { applyOverrides, parseOverride } from "./overrides.ts";

const stack = () => ({ images: { app: { context: "." }, "team/api.v2": { tags: ["a"] }, worker: {} } as Record<string, Record<string, unknown>> });

describe("--set", () => {
  test("parses IMAGE.KEY[.SUB]=VALUE, image names with dots", () => {
    expect(parseOverride("app.target=debug")).toMatchObject({ pattern: "app", key: "target", value: "debug" });
    expect(parseOverride("team/api.v2.build_args.V=1=2")).toMatchObject({ pattern: "team/api.v2", key: "build_args", sub: "V", value: "1=2" });
    expect(parseOverride("*.no_cache=true")).toMatchObject({ pattern: "*", key: "no_cache" });
  });

  test("values are converted by the schema's type", () => {
    const s = stack();
    applyOverrides(s, ["*.no_cache=true", "app.platforms=linux/amd64, linux/arm64", "app.build_args.V=2", "worker.labels.team=core", "app.extra_files.VERSION=1.0"].map(parseOverride));
    expect(s.images.app).toMatchObject({ no_cache: true, platforms: ["linux/amd64", "linux/arm64"], build_args: { V: "2" }, extra_files: { VERSION: { content: "1.0" } } });
    expect(s.images.worker).toMatchObject({ no_cache: true, labels: { team: "core" } });
    expect(s.images["team/api.v2"]!.no_cache).toBe(true);
  });

  test("glob patterns", () => {
    const s = stack();
    applyOverrides(s, [parseOverride("team/*.tags=x,y")]);
    expect(s.images["team/api.v2"]!.tags).toEqual(["x", "y"]);
    expect(s.images.app!.tags).toBeUndefined();
  });

  test("errors: unknown key (with suggestion), no match, mapping without sub-key", () => {
    expect(() => parseOverride("app.targt=x")).toThrow("Invalid --set 'app.targt=x'");
    try {
      parseOverride("app.targt=x");
    } catch (e) {
      expect((e as Error & { hint: string }).hint).toContain("app.target");
    }
    expect(() => parseOverride("app=x")).toThrow("expected IMAGE.KEY=VALUE");
    expect(() => applyOverrides(stack(), [parseOverride("nope.target=x")])).toThrow("matches no image");
    expect(() => applyOverrides(stack(), [parseOverride("app.labels=x")])).toThrow("is a mapping");
  });

  test("secrets and ssh: env=/file= sources, a list of ids, a mapping entry", () => {
    const s = stack();
    applyOverrides(s, ["app.secrets.TOKEN=env=GH_TOKEN", "app.secrets.npmrc=file=.npmrc", "app.ssh=default", "worker.ssh.key=keys/id", "worker.secrets.bad=x"].map(parseOverride));
    expect(s.images.app).toMatchObject({ secrets: { TOKEN: { env: "GH_TOKEN" }, npmrc: { file: ".npmrc" } }, ssh: ["default"] });
    expect(s.images.worker).toMatchObject({ ssh: { key: "keys/id" }, secrets: { bad: "x" } });
  });
});
