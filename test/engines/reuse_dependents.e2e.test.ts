/**
 * A reused image's dependents do not wait for its tags (issue #15, speed): once the registry's
 * record gave (and verified) the dependency's digest, the dependent's checksum and lookup go on
 * while the dependency's tags are written. What must still hold: every tag is written before the
 * run ends, and a dependency whose tag write fails fails the run, its dependents are skipped and
 * never tagged. The oci flavor (no engine) and the test registry behind a proxy that logs each
 * request with its start and end, and can slow down or refuse the tag writes of one repository.
 * Each machine asks for tags of its own (tags are not in the checksum): a tag that already points
 * at the reused image is not written at all, so these tags must be new to be written.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { E2E_TIMEOUT, REGISTRY, registryDigest, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

interface Logged {
  method: string;
  path: string;
  start: number;
  end: number;
}

describe.skipIf(!(await requireEngine("registry")))("dependents of a reused image (oci flavor, registry reuse)", () => {
  const ns = uniqueRepo("xreuse-deps");
  let log: Logged[] = [];
  /** What happens to a PUT of a (non-record) tag of `${ns}/base`. */
  let basePut: "pass" | "slow" | "fail" = "pass";
  /**
   * The dependent's lookup is not answered until imgb gives up on it: under --fail-fast it is
   * still running when the base's tag write is refused (however many requests the base's tags
   * take), and is cancelled then.
   */
  let holdAppLookup = false;
  const isBaseTagPut = (method: string, path: string) => method === "PUT" && path.startsWith(`/v2/${ns}/base/manifests/`) && !path.includes("/manifests/imgb-");
  const proxy = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const entry: Logged = { method: req.method, path: url.pathname, start: performance.now(), end: 0 };
      log.push(entry);
      try {
        if (isBaseTagPut(req.method, url.pathname)) {
          if (basePut === "fail") {
            return new Response(JSON.stringify({ errors: [{ code: "DENIED", message: "tag writes refused by the test" }] }), { status: 403, headers: { "content-type": "application/json" } });
          }
          if (basePut === "slow") await Bun.sleep(600);
        }
        if (holdAppLookup && req.method === "GET" && url.pathname.startsWith(`/v2/${ns}/app/manifests/imgb-`)) {
          await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
          return new Response(null, { status: 503 });
        }
        const headers = new Headers(req.headers);
        headers.delete("host");
        const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
        const res = await fetch(`http://${REGISTRY}${url.pathname}${url.search}`, { method: req.method, headers, body, redirect: "manual", decompress: false } as RequestInit);
        const out = new Headers(res.headers);
        const loc = out.get("location");
        if (loc) out.set("location", loc.replace(`//${REGISTRY}`, `//${url.host}`));
        const bytes = req.method === "HEAD" ? null : await res.arrayBuffer();
        return new Response(bytes, { status: res.status, headers: out });
      } finally {
        entry.end = performance.now();
      }
    },
  });
  const registry = `127.0.0.1:${proxy.port}`;
  afterAll(() => {
    proxy.stop(true);
    cleanupTempDirs();
  });

  const machine = (name: string) => {
    const dir = join(tempDir(`imgb-deps-${name}-`), "checkout");
    const tag = name === "a" ? "" : `-${name}`;
    writeTree(dir, {
      "imgb.yaml": `image_builder: { flavor: oci }
container_registry: { uri: ${registry}/${ns} }
images:
  base: { context: base, tags: [v1${tag}] }
  app: { context: app, tags: [latest${tag}], build_args: { BASE: "\${images.base.ref}" } }
`,
      "base/Dockerfile": "FROM scratch\nCOPY b.txt /b.txt\n",
      "base/b.txt": "base\n",
      "app/Dockerfile": "ARG BASE\nFROM $BASE\nCOPY a.txt /a.txt\n",
      "app/a.txt": "app\n",
    });
    return { dir, home: tempDir(`imgb-deps-home-${name}-`) };
  };
  const build = (m: { dir: string; home: string }, ...extra: string[]) => runImgb(["build", "--progress", "plain", "--metadata-file", join(m.home, "m.json"), ...extra], { cwd: m.dir, env: { IMGB_HOME: m.home } });
  type Meta = Record<string, { digest: string; reused: boolean; reusedFrom?: string }>;
  let built: Meta;

  beforeAll(async () => {
    const a = machine("a");
    const r = await build(a);
    expect(r.code, r.stderr).toBe(0);
    built = JSON.parse(readFileSync(join(a.home, "m.json"), "utf8")) as Meta;
  }, E2E_TIMEOUT);

  test("the dependent's lookup starts before the dependency's tag is written; all tags are written before the run ends", async () => {
    basePut = "slow";
    log = [];
    const b = machine("b");
    const r = await build(b);
    basePut = "pass";
    expect(r.code, r.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(join(b.home, "m.json"), "utf8")) as Meta;
    expect(meta.base).toMatchObject({ reused: true, digest: built.base!.digest });
    expect(meta.app).toMatchObject({ reused: true, digest: built.app!.digest });
    const tagPut = log.find((e) => isBaseTagPut(e.method, e.path))!;
    const appLookup = log.find((e) => e.method === "GET" && e.path.startsWith(`/v2/${ns}/app/manifests/imgb-`))!;
    const appTagPut = log.find((e) => e.method === "PUT" && e.path === `/v2/${ns}/app/manifests/latest-b`)!;
    expect(tagPut).toBeDefined();
    expect(appLookup).toBeDefined();
    expect(appLookup.start).toBeLessThan(tagPut.end); // did not wait for the slow tag write
    expect(appTagPut.start).toBeGreaterThanOrEqual(tagPut.end); // its own tag only once its base's is there
    expect(await registryDigest(REGISTRY, `${ns}/base`, "v1-b")).toBe(built.base!.digest);
    expect(await registryDigest(REGISTRY, `${ns}/app`, "latest-b")).toBe(built.app!.digest);
  }, E2E_TIMEOUT);

  test("tags that already point at the reused images are asked for (HEAD), not written", async () => {
    basePut = "fail"; // a write of base's tag would fail the run
    log = [];
    const a2 = machine("a"); // machine A's own tags, a fresh store
    const r = await build(a2);
    basePut = "pass";
    expect(r.code, r.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(join(a2.home, "m.json"), "utf8")) as Meta;
    expect(meta.base).toMatchObject({ reused: true, digest: built.base!.digest });
    expect(meta.app).toMatchObject({ reused: true, digest: built.app!.digest });
    expect(log.filter((e) => e.method === "PUT")).toEqual([]);
    expect(log.filter((e) => e.method === "HEAD" && /\/(base|app)\/manifests\/(v1|latest)$/.test(e.path)).map((e) => e.path).sort()).toEqual([`/v2/${ns}/app/manifests/latest`, `/v2/${ns}/base/manifests/v1`]);
  }, E2E_TIMEOUT);

  test.each([[[]], [["--fail-fast"]]])("a dependency's tag write that fails fails the run; the dependent is skipped (cancelled with --fail-fast) and not tagged (%p)", async (extra: string[]) => {
    basePut = "fail";
    holdAppLookup = extra.includes("--fail-fast");
    log = [];
    const c = machine("c");
    const r = await build(c, ...extra);
    basePut = "pass";
    holdAppLookup = false;
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain("1 of 2 images failed: base");
    expect(r.stderr).toMatch(/tag writes refused by the test|403/);
    // --fail-fast: its lookup is cut off (cancelled), as any image running when another fails.
    expect(r.stderr).toMatch(extra.length ? /\napp +cancelled/ : /\napp +skipped/);
    expect(r.stderr).not.toMatch(/app +\| => tag/);
    expect(log.some((e) => e.method === "PUT" && e.path.startsWith(`/v2/${ns}/app/manifests/`))).toBe(false);
  }, E2E_TIMEOUT);
});
