import { afterAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "../../test/context/_tree.ts";
import { functionsOf } from "./_tiers.ts";

const work = tempDir("tiers");
afterAll(() => rmSync(work, { recursive: true, force: true }));

test("functionsOf: a function is itself; a class brings its methods, accessors and statics", () => {
  const plain = () => 1;
  class Thing {
    static make(): Thing {
      return new Thing();
    }
    get size(): number {
      return 1;
    }
    set size(_v: number) {}
    run(): number {
      return 2;
    }
  }
  const proto = Object.getOwnPropertyDescriptor(Thing.prototype, "size")!;
  const found = new Set(functionsOf([plain, Thing]));
  for (const f of [plain, Thing, Thing.make, Thing.prototype.run, proto.get, proto.set]) expect(found.has(f as never)).toBe(true);
  expect(found.size).toBe(6);
});

// The functions that FTL compiled in `imgb context DIR -o FILE` before they were marked
// (BUN_JSC_reportFTLCompileTimes=1 over 40,000 files, and over this test's tree with its thresholds).
const HOT = [
  "readFile", "writeHeader", "row", "name", "finishFile", "pushIn", "startContent", "recordBytes", "template", "fields",
  "writeString", "needsPax", "writeName", "devIndex", "header", "entryFields", "bytesOf", "startsWithBytes", "writeOctal",
  "parentLength", "sumOf", "tick", "place", "path", "type", "nlink", "isArchive", "isPlain", "padded", "pathLength", "startOf",
  "fill", "refill", "check", "next",
];

test("a context's per-file loop is never FTL-compiled, in either thread (the thresholds lowered so FTL comes early)", () => {
  const tree = join(work, "tree");
  for (let d = 0; d < 4; d++) {
    mkdirSync(join(tree, `d${d}`), { recursive: true });
    for (let i = 0; i < 500; i++) writeFileSync(join(tree, `d${d}`, `f${i}.txt`), `file ${d} ${i}\n`);
  }
  // A control, not marked: FTL does compile at these thresholds.
  const script = join(work, "run.ts");
  writeFileSync(
    script,
    `import { BuildContext } from ${JSON.stringify(resolve(import.meta.dir, "build_context.ts"))};
     function controlLoop(n: number): number { let s = 0; for (let i = 0; i < n; i++) s = (s * 31 + i) | 0; return s; }
     let s = 0; for (let i = 0; i < 20000; i++) s += controlLoop(50);
     await new BuildContext({ root: process.argv[2]! }).writeArchive(process.argv[3]!);
     console.log(s);`,
  );
  const p = Bun.spawnSync([process.execPath, script, tree, join(work, "out.tar")], {
    env: {
      ...process.env,
      BUN_JSC_reportFTLCompileTimes: "1",
      BUN_JSC_thresholdForOptimizeAfterWarmUp: "50",
      BUN_JSC_thresholdForFTLOptimizeAfterWarmUp: "200",
      BUN_JSC_thresholdForFTLOptimizeSoon: "50",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const report = p.stderr.toString();
  expect(p.exitCode, report).toBe(0);
  const compiled = new Set([...report.matchAll(/Optimized ([^#\s]*)#\S* .*? using FTL/g)].map((m) => m[1]!));
  expect(compiled.has("controlLoop")).toBe(true);
  expect(HOT.filter((name) => compiled.has(name))).toEqual([]);
}, 60_000);
