/**
 * Layering, enforced (after go-containerregistry's depcheck_test): every package says what it
 * may import, and anything else fails here. Read top to bottom, no arrow runs back up:
 *
 *   src/main.ts -> src/cli/ -> src/orchestrate/ -> src/stack/ -> src/catalog/ -> flavors/
 *   src/plugins/ (user flavor files) -> src/sdk.ts -> src/catalog/
 *   flavors/ -> src/context/, src/image/ (-> src/exec.ts: credential helpers), src/dockerfile/, src/exec.ts -> src/builder/ (the
 *   contract, types only) -> src/errors.ts, src/secret.ts, src/suggest.ts, src/platform.ts
 *
 * A package is a folder under src/ (src/x/…), a file directly under src/ (src/x.ts, with its
 * private src/_helpers of the same family listed explicitly), or a folder under flavors/.
 * Imports inside one package are free. Test files are not checked.
 */
import { describe, expect, test } from "bun:test";
import { Glob } from "bun";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const sources = (pattern: string) => [...new Glob(pattern).scanSync(root)].filter((f) => !f.endsWith(".test.ts")).sort();

/** Relative imports of `file` (static, dynamic and re-exports), as repo paths. */
function imports(file: string): string[] {
  const text = readFileSync(resolve(root, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.[^"']+)["']/g)) out.push(relative(root, resolve(root, dirname(file), m[1]!)));
  return out;
}

/** The package a repo path belongs to. */
export function packageOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "flavors") return parts.length > 2 ? `flavors/${parts[1]}` : path;
  if (parts[0] === "src") {
    if (parts.length > 2) return `src/${parts[1]}`;
    if (/^src\/_(engine_env|process_tree|stdin_feed)\.ts$/.test(path)) return "src/exec.ts";
    return path;
  }
  return path;
}

const LEAVES = ["src/errors.ts", "src/secret.ts", "src/suggest.ts", "src/platform.ts", "src/emulation.ts", "src/jit_policy.ts"];
const LOW = ["src/builder", ...LEAVES];
const ENGINE_KIT = [...LOW, "src/context", "src/image", "src/dockerfile", "src/exec.ts"];
const FLAVOR_SHARED = ["flavors/_engine", "flavors/_containers"];

/** package -> what it may import (packages, or a glob of files). */
const allowed: Record<string, string[]> = {
  "src/main.ts": ["src/cli", "src/stack", "src/version.ts", ...LEAVES],
  "src/cli": ["src/orchestrate", "src/stack", "src/catalog", "src/plugins", "src/store", "src/context", "src/image", "src/version.ts", ...LOW],
  "src/orchestrate": ["src/stack", "src/catalog", "src/store", "src/context", "src/image", "src/dockerfile", ...LOW],
  // scripts/sdk_dts.ts: a build-time macro (imgb.d.ts is generated into the bundle), not run by the binary.
  "src/plugins": ["src/sdk.ts", "src/catalog", "scripts/sdk_dts.ts", ...LOW],
  "src/sdk.ts": ["src/catalog", "src/context", "src/image", "src/exec.ts", ...LOW],
  "src/stack": ["src/catalog", "src/store", "src/context", "src/image", "src/dockerfile", ...LOW],
  "src/catalog": ["flavors/*/flavor.ts", "src/store", ...LOW],
  "src/store": LEAVES,
  "src/context": LOW,
  // src/exec.ts: the registry client runs the user's docker credential helpers (keychain.ts).
  "src/image": [...LOW, "src/context/tar.ts", "src/context/snapshot_file.ts", "src/exec.ts"],
  "src/dockerfile": LEAVES,
  "src/exec.ts": LEAVES,
  "src/builder": LEAVES.concat("src/dockerfile"),
  "src/errors.ts": [],
  "src/secret.ts": [],
  "src/suggest.ts": [],
  // The binary's startup JIT policy: long file loops (src/context) turn the normal one back on.
  "src/jit_policy.ts": [],
  // What the binary is compiled from (scripts/build.ts, scripts/release.ts): paths only.
  "src/entry_points.ts": [],
  "src/platform.ts": ["src/errors.ts"],
  "src/emulation.ts": ["src/platform.ts"],
  "src/version.ts": ["package.json"],
  "flavors/_engine": ENGINE_KIT,
  "flavors/_containers": [...ENGINE_KIT, "flavors/_engine"],
  "flavors/docker": [...ENGINE_KIT, ...FLAVOR_SHARED],
  "flavors/podman": [...ENGINE_KIT, ...FLAVOR_SHARED],
  "flavors/buildah": [...ENGINE_KIT, ...FLAVOR_SHARED],
  "flavors/oci": [...ENGINE_KIT, "flavors/_engine"],
};

function permits(rule: string, target: string): boolean {
  if (rule.includes("*")) return new Glob(rule).match(target);
  return target === rule || packageOf(target) === rule;
}

/** `file imports target` lines that break the table. */
export function violations(files: readonly string[], importsOf: (f: string) => string[] = imports): string[] {
  const bad: string[] = [];
  for (const f of files) {
    const from = packageOf(f);
    const may = allowed[from];
    for (const target of importsOf(f)) {
      if (packageOf(target) === from) continue;
      if (!may) bad.push(`${f} (package ${from} has no rule: add it to the table)`);
      else if (!may.some((r) => permits(r, target))) bad.push(`${f} imports ${target}`);
    }
  }
  return [...new Set(bad)];
}

describe("layering", () => {
  test("every package imports only what its rule allows", () => {
    const files = [...sources("src/**/*.ts"), ...sources("flavors/**/*.ts")];
    expect(files.length).toBeGreaterThan(50);
    expect(violations(files)).toEqual([]);
  });

  test("the packages' import graph has no cycle (types included)", () => {
    const edges = new Map<string, Set<string>>();
    for (const f of [...sources("src/**/*.ts"), ...sources("flavors/**/*.ts")]) {
      const from = packageOf(f);
      for (const t of imports(f)) if (packageOf(t) !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(packageOf(t));
    }
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (p: string, path: string[]) => {
      if (state.get(p) === "done") return;
      if (state.get(p) === "open") return void cycles.push([...path.slice(path.indexOf(p)), p].join(" -> "));
      state.set(p, "open");
      for (const q of edges.get(p) ?? []) visit(q, [...path, p]);
      state.set(p, "done");
    };
    for (const p of [...edges.keys()].sort()) visit(p, []);
    expect(cycles).toEqual([]);
  });

  test("every package of the tree has a rule, and every rule a package", () => {
    const packages = new Set([...sources("src/**/*.ts"), ...sources("flavors/**/*.ts")].map(packageOf));
    expect([...packages].filter((p) => !allowed[p]).sort()).toEqual([]);
    expect(Object.keys(allowed).filter((p) => !packages.has(p)).sort()).toEqual([]);
  });

  // The check itself: each wrong-way import the old tree had is caught.
  test.each([
    ["src/builder/base_image_builder.ts", "src/context/build_context.ts"],
    ["src/catalog/auto.ts", "src/stack/load.ts"],
    ["src/context/for_image.ts", "src/stack/model.ts"],
    ["src/stack/resolve.ts", "src/orchestrate/reuse.ts"],
    ["src/catalog/load_flavor_file.ts", "src/sdk.ts"],
    ["src/dockerfile/parse.ts", "src/stack/suggest.ts"],
    ["flavors/docker/builder.ts", "src/cli/io.ts"],
    ["flavors/docker/builder.ts", "flavors/podman/builder.ts"],
    ["src/image/remote/client.ts", "flavors/oci/builder.ts"],
  ])("%s -> %s is refused", (from, to) => {
    expect(violations([from], () => [to])).toEqual([`${from} imports ${to}`]);
  });

  test("only src/main.ts exits or writes to the terminal", () => {
    const offenders: string[] = [];
    for (const f of [...sources("src/**/*.ts"), ...sources("flavors/**/*.ts")]) {
      if (f === "src/main.ts") continue;
      const text = readFileSync(resolve(root, f), "utf8");
      if (/\bprocess\.exit\(|console\.(log|error|warn)\(|process\.std(out|err)\.write\(/.test(text)) offenders.push(f);
    }
    expect(offenders).toEqual([]);
  });
});
