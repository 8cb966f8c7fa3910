/**
 * A fake engine for the builders' unit tests: a shell script that records each call (argv,
 * stdin, DOCKER_CONFIG, the context directory's listing) and answers like the real CLI (iidfile,
 * digestfile, `digest: … size:` lines). The real engines are exercised in test/engines/.
 *
 * One per test file: call `fakeEngine()` at module level, `beforeEach(f.reset)`, `afterAll(f.cleanup)`.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildReport } from "../../src/builder/base_image_builder.ts";
import { Secret } from "../../src/secret.ts";

export interface Call { argv: string[]; stdin: Uint8Array; dockerConfig: string; context?: string[] }

export const IID = `sha256:${"a".repeat(64)}`;
export const DIGEST = `sha256:${"d".repeat(64)}`;

export function fakeEngine() {
  const work = mkdtempSync(join(tmpdir(), "imgb-builders-test-"));
  const calls = join(work, "calls");
  const fake = join(work, "fake-engine");
  writeFileSync(
    fake,
    `#!/bin/sh
n=$(ls "${calls}" | wc -l); d="${calls}/$(printf %03d "$n")"; mkdir -p "$d"
printf '%s\\n' "$@" > "$d/argv"; cat > "$d/stdin"; printf '%s' "\${DOCKER_CONFIG:-}" > "$d/docker_config"
prev=""; sub=""
for a in "$@"; do
  case "$prev" in --iidfile) printf '%s' "${IID}" > "$a";; --digestfile) printf '%s' "${DIGEST}" > "$a";; esac
  case "$a" in build|bud|login|push|pull) [ -z "$sub" ] && sub=$a;; esac
  prev=$a
done
last=$(eval echo \\\${$#})
[ -d "$last" ] && (cd "$last" && find . | sort > "$d/context")
FAKE_SLEEP=$(cat "${work}/fake-sleep" 2>/dev/null); FAKE_FAIL=$(cat "${work}/fake-fail" 2>/dev/null)
[ "$sub" = build ] && [ -n "$FAKE_SLEEP" ] && { trap 'exit 130' INT TERM; echo sleeping; sleep "$FAKE_SLEEP" & wait $!; }
[ -n "$FAKE_FAIL" ] && [ "$sub" = "$FAKE_FAIL" ] && { echo "step output"; echo "The command '/bin/sh -c exit 3' returned a non-zero code: 3" >&2; exit 3; }
[ "$sub" = push ] && echo "latest: digest: ${DIGEST} size: 528"
exit 0
`,
    { mode: 0o755 },
  );

  const ctxDir = join(work, "ctx");
  mkdirSync(ctxDir);
  writeFileSync(join(ctxDir, "Dockerfile"), "FROM scratch\nCOPY . /\n");
  writeFileSync(join(ctxDir, "keep.txt"), "keep");
  writeFileSync(join(ctxDir, "drop.log"), "drop");
  writeFileSync(join(ctxDir, ".dockerignore"), "*.log\n");

  function recorded(): Call[] {
    return readdirSync(calls).sort().map((n) => {
      const d = join(calls, n);
      return {
        argv: readFileSync(join(d, "argv"), "utf8").trimEnd().split("\n"),
        stdin: new Uint8Array(readFileSync(join(d, "stdin"))),
        dockerConfig: readFileSync(join(d, "docker_config"), "utf8"),
        context: existsSync(join(d, "context")) ? readFileSync(join(d, "context"), "utf8").trimEnd().split("\n") : undefined,
      };
    });
  }

  /** Steers the fake engine through files: engines inherit only an allow-list of variables. */
  function fakeControl(what: "fail" | "sleep", value: string) {
    writeFileSync(join(work, `fake-${what}`), value);
  }

  function envFor(signal = new AbortController().signal) {
    const logs: string[] = [];
    const reports: BuildReport[] = [];
    return { logs, reports, env: { log: (l: string) => logs.push(l), signal, report: (r: BuildReport) => reports.push(r) } };
  }

  const password = "fake-registry-password";
  const registry = { uri: "127.0.0.1:5000", insecure: true, credentials: { username: "u", password: new Secret(password, "test") } };
  // The builders' temporary files go to a TMPDIR of this test's own: the shared /tmp holds other runs' files.
  const privateTmp = join(work, "tmp");
  mkdirSync(privateTmp);
  const sharedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp;
  const tempsLeft = () => readdirSync(privateTmp).filter((n) => /^imgb-(docker|podman|buildah|context)-/.test(n));

  function reset() {
    rmSync(calls, { recursive: true, force: true });
    mkdirSync(calls);
    rmSync(join(work, "fake-fail"), { force: true });
    rmSync(join(work, "fake-sleep"), { force: true });
  }

  function cleanup() {
    if (sharedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = sharedTmpdir;
    rmSync(work, { recursive: true, force: true });
  }

  return { work, calls, fake, ctxDir, recorded, fakeControl, envFor, password, registry, tempsLeft, reset, cleanup };
}
