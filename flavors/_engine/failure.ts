/**
 * Turning an engine's failure output into an error that says what went wrong: the engine is
 * unreachable, a step failed, a base image is missing or refused, the registry refused us. The
 * engine's log was streamed as it came, so the error keeps only the lines that explain the
 * failure (the failing step, its last output lines, the engine's last word), not the log again.
 */
import { emulationProblem, isForeign, looksLikeExecFormatError } from "../../src/emulation.ts";
import { ExecError } from "../../src/exec.ts";
import { parsePlatform, type Platform } from "../../src/platform.ts";

interface Pattern {
  code: string;
  test: RegExp;
  message: (m: RegExpMatchArray, where: FailureContext) => string;
  hint?: string;
}

/** What the builder knows about where it ran, for messages the engine output cannot give. */
export interface FailureContext {
  /** The engine endpoint, e.g. `unix:///run/docker.sock` or `podman service unix:///…`. */
  engine?: string;
  /** The Dockerfile path inside the context, to recognise "no such file" about it. */
  dockerfile?: string;
  /** The one platform this build was for (a multi-platform build runs one engine build per platform). */
  platform?: string;
  /** False when the engine runs on another machine (a podman service): this machine's binfmt_misc says nothing about it. */
  emulatorsHere?: boolean;
}

export const DOCKERFILE_MISSING_HINT = "check the image's dockerfile path; an ignored Dockerfile is still sent, a missing one cannot be";

/** The engine itself is unreachable or unusable: checked first, in every phase. */
const ENGINE_PATTERNS: Pattern[] = [
  {
    code: "engine.buildx-missing",
    test: /BuildKit is enabled but the buildx component is missing/i,
    message: () => "this docker CLI needs the buildx plugin for BuildKit, and it is missing",
    hint: "point the flavor's `binary:` at a docker CLI that has BuildKit (one with the buildx plugin, or < 23 such as /usr/bin/docker from docker.io 20.10), install docker-buildx, or set `builder: auto` (classic when the Dockerfile allows) or `builder: classic`",
  },
  {
    code: "engine.unreachable",
    test: /Cannot connect to the Docker daemon|error during connect: |Cannot connect to Podman|unable to connect to Podman socket/i,
    message: (_m, where) => `${where.engine ?? "the engine"} is not reachable`,
    hint: "start it, or point the flavor's `host` (docker) / `url` (podman) at a running one",
  },
];

/**
 * Which base image failed, from BuildKit (`load metadata for X`), podman/buildah (short-name or
 * `initializing source docker://X`), or the classic builder (the last `Step n/m` is a FROM that
 * never printed its ` ---> id`).
 */
function failedBaseImage(tail: readonly string[]): string | undefined {
  const text = tail.join("\n");
  const m =
    text.match(/^ > \[internal\] load metadata for (\S+):$/m) ??
    text.match(/short-name "([^"]+)" did not resolve/) ??
    text.match(/creating build container: .*?(?:initializing source docker:\/\/|reading manifest \S+ in )(\S+?):? /) ??
    text.match(/pull access denied for ([^\s,]+)/) ??
    text.match(/(?:manifest for|repository) (\S+) not found/);
  if (m) return m[1];
  const lastStep = tail.findLastIndex((l) => /^Step \d+\/\d+ : /.test(l));
  const from = tail[lastStep]?.match(/^Step \d+\/\d+ : FROM (\S+)/i);
  if (from && !tail.slice(lastStep + 1).some((l) => l.startsWith(" ---> "))) return from[1];
  return undefined;
}

/** What build output means, most specific first. Checked against the output tail. */
const BUILD_PATTERNS: Pattern[] = [
  {
    code: "build.dockerfile-missing",
    test: /Cannot locate specified Dockerfile: (\S+)|failed to read dockerfile: open \S*?([^/\s]+): no such file|no such file or directory: (?:.*\/)?(\S*(?:Dockerfile|Containerfile)\S*)|stat (?:.*\/)?(\S*(?:Dockerfile|Containerfile)\S*): no such file/i,
    message: (m) => `the Dockerfile ${JSON.stringify(m[1] ?? m[2] ?? m[3] ?? m[4])} is missing from the build context`,
    hint: DOCKERFILE_MISSING_HINT,
  },
  {
    code: "build.step-failed",
    // classic | BuildKit (0.8 and later) | BuildKit 0.8 | podman and buildah
    test: /The command '(?<c1>.*)' returned a non-zero code: (?<x1>\d+)|process "(?<c2>.*)" did not complete successfully: exit code: (?<x2>\d+)|executor failed running \[(?<c3>.*)\]: exit code: (?<x3>\d+)|building at STEP "(?<c4>.+?)": while running runtime: exit status (?<x4>\d+)/,
    message: (m) => {
      const g = m.groups ?? {};
      const step = g.c1 ?? g.c2 ?? g.c3 ?? g.c4;
      return `a build step${step ? ` (${step})` : ""} exited with code ${g.x1 ?? g.x2 ?? g.x3 ?? g.x4}`;
    },
  },
];

const NET_PATTERNS: Pattern[] = [
  {
    code: "registry.auth-refused",
    test: /unauthorized|authentication required|invalid username\/password|incorrect username or password|401 Unauthorized|denied: requested access/i,
    message: () => "the registry refused the credentials",
    hint: "check the registry credentials (username and password source) and the repository permissions",
  },
  {
    code: "registry.unreachable",
    test: /connection refused|no such host|i\/o timeout|server gave HTTP response to HTTPS client|network is unreachable|certificate signed by unknown authority/i,
    message: () => "the registry is not reachable",
    hint: "check the registry address, that it is running, and `insecure: true` for a plain-HTTP registry",
  },
];

/** A base-image pull the registry refused, as opposed to an image that is nowhere. */
const PULL_REFUSED_PATTERNS: Pattern[] = [
  {
    code: "build.base-image-pull-failed",
    test: /server gave HTTP response to HTTPS client|certificate signed by unknown authority|x509: /i,
    message: () => "the engine expected TLS and the registry's TLS does not match (plain HTTP or an untrusted certificate)",
    hint: "for the stack's own registry set `insecure: true` under container_registry (loopback registries are insecure by default); for another registry configure the engine for it (registries.conf, dockerd --insecure-registry)",
  },
  {
    code: "build.base-image-pull-failed",
    // Not "denied: requested access": Docker Hub answers that for a repository that does not exist.
    test: /unauthorized|authentication required|no basic auth credentials/i,
    message: () => "the registry refused the pull without valid credentials",
    hint: "for the stack's own registry check container_registry.credentials; for another registry log the engine in to it",
  },
];

/** Output lines of the failing step kept in the error, besides the step itself and the last line. */
const STEP_OUTPUT_LINES = 6;
/** Lines kept when the output shows no step (a login, a push, an engine that did not start). */
const PLAIN_LINES = 5;

/**
 * The lines of an engine's output tail that explain its failure: the failing step (BuildKit's
 * `#N [2/2] RUN …` with its `#N` output lines, the classic builder's last `Step n/m`, podman's and
 * buildah's last `STEP n/m:`), its last output lines and the engine's final line; else the last
 * few lines. Pure: unit-tested on captured output.
 */
export function explainingLines(tail: readonly string[]): string[] {
  const lines = tail.map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").trimEnd()).filter((l) => l.trim() !== "");
  const last = lines.at(-1);
  if (last === undefined) return [];
  const failed = lines.findLast((l) => /^#\d+ ERROR/.test(l))?.match(/^#(\d+) /)?.[1];
  if (failed !== undefined) {
    const step = lines.filter((l) => l.startsWith(`#${failed} `) && !/^#\d+ (sha256:|ERROR|DONE|CACHED)/.test(l));
    const [header, ...output] = step;
    return withLast([...(header ? [header] : []), ...output.slice(-STEP_OUTPUT_LINES)], last);
  }
  const start = lines.findLastIndex((l) => /^(Step \d+\/\d+ : |(\[\d+\/\d+\] )?STEP \d+\/\d+: )/.test(l));
  if (start >= 0) {
    const output = lines.slice(start + 1, -1).filter((l) => !/^ ---> (Running in )?[0-9a-f]{12}$/.test(l) && !l.startsWith(" ---> Running in "));
    return withLast([lines[start]!, ...output.slice(-STEP_OUTPUT_LINES)], last);
  }
  return lines.slice(-PLAIN_LINES);
}

function withLast(lines: string[], last: string): string[] {
  return lines.at(-1) === last ? lines : [...lines, last];
}

/**
 * Turns an engine failure into an error that says what failed: "Build of image 'app' failed: a
 * build step (…) exited with code 3: <command>", followed by the engine's last lines.
 */
export function explainFailure(e: unknown, phase: "build" | "login" | "push", subject: string, where: FailureContext = {}): unknown {
  if (!(e instanceof ExecError) || e.code !== "exec.failed") return e;
  const explaining = explainingLines(e.tail);
  const reframe = (code: string, message: string, hint?: string) => e.reframe(code, message, hint, explaining);
  const headline = (what: string) => `${phase === "build" ? "Build of" : phase === "login" ? "Login to" : "Push of"} ${subject} failed: ${what}`;
  const text = e.tail.join("\n");
  const match = (patterns: Pattern[]) => {
    for (const p of patterns) {
      const m = text.match(p.test);
      if (m) return reframe(p.code, headline(`${p.message(m, where)}: ${e.command}`), p.hint);
    }
    return undefined;
  };
  const found = match(ENGINE_PATTERNS);
  if (found) return found;
  if (phase === "build" && where.dockerfile && /Cannot locate specified Dockerfile|failed to read dockerfile|no such file or directory/i.test(text) && text.includes(where.dockerfile)) {
    return reframe("build.dockerfile-missing", headline(`the Dockerfile ${JSON.stringify(where.dockerfile)} is missing from the build context: ${e.command}`), DOCKERFILE_MISSING_HINT);
  }
  const noDockerfile = phase === "build" ? match(BUILD_PATTERNS.slice(0, 1)) : undefined;
  if (noDockerfile) return noDockerfile;
  if (phase === "build" && looksLikeExecFormatError(text)) {
    return e.reframe("build.exec-format", headline(`${execFormatMessage(where.platform, where.emulatorsHere ?? true)}: ${e.command}`), execFormatHint(where.platform));
  }
  if (phase === "build") {
    const base = failedBaseImage(e.tail);
    if (base) {
      // The registry answered but refused this pull: the image may well exist (e.g. one of the
      // stack's, just pushed), so "build or import it first" would send the user the wrong way.
      for (const p of PULL_REFUSED_PATTERNS) {
        if (p.test.test(text)) return reframe("build.base-image-pull-failed", headline(`the base image ${JSON.stringify(base)} could not be pulled: ${p.message(text.match(p.test)!, where)}: ${e.command}`), p.hint);
      }
      return reframe("build.base-image-missing", headline(`the base image ${JSON.stringify(base)} is not available locally and could not be pulled: ${e.command}`), "build or import the base image first, or check its name");
    }
  }
  return match(phase === "build" ? BUILD_PATTERNS.slice(1) : []) ?? match(NET_PATTERNS) ?? reframe(`${phase}.failed`, headline(`${e.command} exited with ${e.exitStatus ?? e.signal}`));
}

/**
 * A RUN step started a program the kernel cannot execute ("exec format error"): on a foreign
 * platform, most often no emulator (src/emulation.ts says which package and what to check).
 */
function execFormatMessage(platform: string | undefined, emulatorsHere: boolean): string {
  const what = "a RUN step could not start its program (exec format error)";
  if (!platform) return what;
  if (!emulatorsHere) return `${what}: the engine's machine needs an emulator for ${platform} (qemu-user-static registered through binfmt_misc) unless it runs ${platform} natively, and the program must be built for ${platform}`;
  let p: Platform;
  try {
    p = parsePlatform(platform);
  } catch {
    return what;
  }
  const problem = emulationProblem(p);
  if (problem) return `${what}: ${problem}`;
  return isForeign(p)
    ? `${what}: an emulator for ${platform} is registered here, so the program itself is not built for ${platform}`
    : `${what}: the program is not built for ${platform}, which this machine runs natively`;
}

function execFormatHint(platform: string | undefined): string {
  return platform
    ? `check that the base images have a ${platform} variant and that binaries copied into the image are built for ${platform}`
    : "check that the base images and copied binaries are built for the platform the image is built for";
}
