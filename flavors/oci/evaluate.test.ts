import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors.ts";
import { scratchConfig } from "../../src/image/remote/fetch_image.ts";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";
import { evaluateStage } from "./evaluate.ts";
import { parseDuration } from "./instruction_args.ts";
import { planBuild, stageByName } from "../../src/dockerfile/stages.ts";

const amd64 = { os: "linux", architecture: "amd64" };

function evaluate(text: string, buildArgs: Record<string, string> = {}, target?: string) {
  const df = parseDockerfile(text, "Dockerfile");
  const plan = planBuild(df, buildArgs, amd64, target);
  const stage = plan.stages[plan.order.at(-1)!]!;
  const out = evaluateStage({ df, stage, base: scratchConfig(amd64), buildArgs, metaArgs: plan.metaArgs, created: "1970-01-01T00:00:00Z", stageIndex: (v) => stageByName(plan.stages, v, stage.index)?.index });
  return { plan, ...out };
}

function located(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("expected an InputError");
}

describe("planBuild", () => {
  test("meta args in FROM, build-arg overrides, stage names, target dependencies", () => {
    const df = parseDockerfile("ARG V=1\nFROM base:$V AS a\nFROM scratch AS b\nCOPY --from=a /x /x\nFROM scratch AS c\nCOPY --from=b /x /y\n", "D");
    const plan = planBuild(df, { V: "2", UNUSED: "x" }, amd64, "b");
    expect(plan.stages[0]!.base).toEqual({ kind: "image", ref: "base:2" });
    expect(plan.order).toEqual([0, 1]);
    expect(plan.unusedBuildArgs).toEqual(["UNUSED"]);
    expect(planBuild(df, {}, amd64).order).toEqual([0, 1, 2]);
  });

  test("automatic platform args and FROM another stage", () => {
    const df = parseDockerfile("FROM scratch AS one\nFROM one\nARG TARGETARCH\nENV ARCH=$TARGETARCH\n", "D");
    const plan = planBuild(df, {}, amd64);
    expect(plan.stages[1]!.base).toEqual({ kind: "stage", index: 0 });
    expect(plan.metaArgs.get("TARGETPLATFORM")).toBe("linux/amd64");
  });

  test("errors: no FROM, unknown target, instruction before FROM", () => {
    expect(() => planBuild(parseDockerfile("ARG X\n", "D"), {}, amd64)).toThrow("has no FROM");
    expect(() => planBuild(parseDockerfile("FROM scratch\n", "D"), {}, amd64, "nope")).toThrow('Target stage "nope"');
    expect(located(() => planBuild(parseDockerfile("ENV A=1\nFROM scratch\n", "D"), {}, amd64)).location?.line).toBe(1);
  });
});

describe("evaluateStage", () => {
  test("config instructions", () => {
    const { config, steps } = evaluate(
      [
        "FROM scratch",
        "ARG WHO=world",
        "ENV GREETING=hello NAME=$WHO",
        'ENV LEGACY value with "spaces"',
        "LABEL a=1 b=\"x y\"",
        "WORKDIR /srv",
        "WORKDIR app",
        "USER 1000:1000",
        "EXPOSE 80 53/udp 8000-8001",
        "VOLUME /data",
        "STOPSIGNAL SIGTERM",
        'SHELL ["/bin/bash", "-c"]',
        "ENTRYPOINT run $GREETING",
        "HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/",
        "MAINTAINER me",
      ].join("\n"),
      { WHO: "imgb" },
    );
    const c = config.config;
    expect(c.Env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello", "NAME=imgb", "LEGACY=value with spaces"]);
    expect(c.Labels).toEqual({ a: "1", b: "x y" });
    expect(c.WorkingDir).toBe("/srv/app");
    expect(c.User).toBe("1000:1000");
    expect(Object.keys(c.ExposedPorts!)).toEqual(["80/tcp", "53/udp", "8000/tcp", "8001/tcp"]);
    expect(c.Volumes).toEqual({ "/data": {} });
    expect(c.StopSignal).toBe("SIGTERM");
    expect(c.Entrypoint).toEqual(["/bin/bash", "-c", "run $GREETING"]);
    expect(c.Cmd).toBeNull();
    expect(c.Healthcheck).toEqual({ Test: ["CMD-SHELL", "curl -f http://localhost/"], Interval: 30e9, Retries: 3 });
    expect(config.author).toBe("me");
    expect(steps.every((s) => s.history.empty_layer && s.history.created === "1970-01-01T00:00:00Z")).toBe(true);
    expect(steps).toHaveLength(14);
  });

  test("ENV pairs of one instruction see the values before it; ENV wins over ARG", () => {
    const { config } = evaluate("FROM scratch\nARG X=arg\nENV A=1\nENV A=2 B=$A\nENV X=env\nENV Y=$X\n");
    expect(config.config.Env).toContain("B=1");
    expect(config.config.Env).toContain("Y=env");
  });

  test("COPY operations: flags, destination relative to WORKDIR, stage references", () => {
    const { steps } = evaluate("FROM scratch AS b\nFROM scratch\nARG D=/dst\nWORKDIR /w\nCOPY --from=b --chown=1:2 --chmod=750 a* $D/\nCOPY x y\nADD [\"z\", \".\"]\n");
    const copies = steps.filter((s) => s.copy).map((s) => s.copy!);
    expect(copies[0]).toMatchObject({ from: { stage: 0 }, chown: "1:2", chmod: 0o750, sources: ["a*"], dest: "/dst", dirHint: true });
    expect(copies[1]).toMatchObject({ sources: ["x"], dest: "/w/y", dirHint: false });
    expect(copies[2]).toMatchObject({ add: true, sources: ["z"], dest: "/w", dirHint: true });
  });

  test("RUN: shell form in the SHELL, exec form as is; Env plus the ARGs in scope; history as BuildKit writes it", () => {
    const { steps } = evaluate('FROM scratch\nARG A=1\nENV E=e\nWORKDIR /w\nUSER 1000:2\nRUN echo $A > f\nARG TARGETARCH\nARG E=ignored\nRUN ["/bin/env"]\nSHELL ["/bin/bash", "-ec"]\nRUN --network=none true\n');
    const runs = steps.filter((s) => s.run);
    expect(runs.map((s) => s.history.created_by)).toEqual([
      "RUN |1 A=1 /bin/sh -c echo $A > f",
      "RUN |3 A=1 TARGETARCH=amd64 E=e /bin/env",
      "RUN |3 A=1 TARGETARCH=amd64 E=e /bin/bash -ec true",
    ]);
    expect(runs.every((s) => s.history.empty_layer === undefined)).toBe(true);
    expect(runs[0]!.run!.op).toEqual({ argv: ["/bin/sh", "-c", "echo $A > f"], env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "E=e", "A=1"], workdir: "/w", user: "1000:2", secrets: [] });
    // ENV wins over an ARG of the same name; TARGETARCH only once declared (as BuildKit).
    expect(runs[1]!.run!.op.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "E=e", "A=1", "TARGETARCH=amd64"]);
    expect(runs[2]!.run!.op.argv).toEqual(["/bin/bash", "-ec", "true"]);
  });

  test("RUN --mount=type=secret: every mount of the step, BuildKit's defaults, a target relative to WORKDIR", () => {
    const { steps } = evaluate("FROM scratch\nWORKDIR /w\nRUN --network=none --mount=type=secret,id=a --mount=type=secret,id=b,target=keys/b,required,mode=0440,uid=1,gid=2 --mount=type=secret,dst=/etc/c.pem cat /run/secrets/a\n");
    const run = steps.find((x) => x.run)!.run!;
    expect(run.op.secrets).toEqual([
      { id: "a", target: "/run/secrets/a", required: false, mode: 0o400, uid: 0, gid: 0 },
      { id: "b", target: "/w/keys/b", required: true, mode: 0o440, uid: 1, gid: 2 },
      { id: "c.pem", target: "/etc/c.pem", required: false, mode: 0o400, uid: 0, gid: 0 },
    ]);
    expect(run.op.argv).toEqual(["/bin/sh", "-c", "cat /run/secrets/a"]);
  });

  test("RUN flags the flavor cannot honour are located errors, never dropped", () => {
    const ssh = located(() => evaluate("FROM scratch\nCOPY a /a\n\nRUN --mount=type=ssh ssh-add -l\n"));
    expect(ssh.location).toEqual({ file: "Dockerfile", line: 4, col: 1 });
    expect(ssh.message).toBe("RUN: --mount=type=ssh is not supported by the 'oci' flavor (only type=secret)");
    expect(ssh.hint).toContain("docker, podman or buildah");
    // Another mount after a secret one is seen too.
    expect(located(() => evaluate("FROM scratch\nRUN --mount=type=secret,id=a --mount=type=cache,target=/c true\n")).message).toContain("--mount=type=cache");
    expect(located(() => evaluate("FROM scratch\nRUN --mount=target=/x true\n")).message).toContain("--mount=type=bind");
    expect(located(() => evaluate("FROM scratch\nRUN --mount=type=secret,id=a,env=A true\n")).message).toContain('option "env"');
    expect(located(() => evaluate("FROM scratch\nRUN --mount=type=secret,id=a,mode=rw true\n")).message).toContain('invalid mode "rw"');
    expect(located(() => evaluate("FROM scratch\nRUN --mount=type=secret true\n")).message).toContain("needs an id");
    expect(located(() => evaluate("FROM scratch\nRUN --network=host true\n")).message).toContain("--network=host");
    expect(located(() => evaluate("FROM scratch\nRUN --security=insecure true\n")).message).toContain("--security=insecure");
    expect(located(() => evaluate("FROM scratch\nRUN []\n")).message).toBe("RUN: requires a command");
  });

  test("other errors", () => {
    // An unknown word never reaches the evaluator: the parser refuses it (without quoting it).
    expect(located(() => evaluate("FROM scratch\nFOO bar\n")).message).toBe("Unknown instruction on line 2: not a Dockerfile keyword");
    expect(located(() => evaluate("FROM scratch\nADD https://x/y /y\n")).message).toContain("remote source");
    expect(located(() => evaluate("FROM scratch\nCOPY --exclude=x a /b\n")).message).toContain("--exclude");
    expect(located(() => evaluate("FROM scratch\nCOPY --chmod=u+x a /b\n")).message).toContain("--chmod");
    expect(located(() => evaluate("FROM scratch\nEXPOSE http\n")).message).toContain("invalid port");
    expect(located(() => evaluate("FROM scratch\nSHELL /bin/sh\n")).message).toContain("JSON form");
    expect(located(() => evaluate("FROM scratch\nENV A=${B:?must be set}\n")).location?.line).toBe(2);
  });

  test("parseDuration", () => {
    expect(parseDuration("1m30s")).toBe(90e9);
    expect(parseDuration("500ms")).toBe(5e8);
    expect(parseDuration("10")).toBeUndefined();
  });
});
