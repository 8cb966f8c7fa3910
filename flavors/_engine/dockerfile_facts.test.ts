import { describe, expect, test } from "bun:test";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { dockerfileFacts } from "./dockerfile_facts.ts";

const facts = (text: string, options = {}) => dockerfileFacts(parseDockerfile(text, "Dockerfile"), defaultBuildOptions(options));

describe("dockerfile facts", () => {
  test("bases of the stages the target needs, with build args substituted", () => {
    const df = "ARG BASE\nFROM ${BASE} AS a\nFROM other:1 AS unused\nFROM a\nCOPY --from=tool:2 /x /x\n";
    expect(facts(df, { buildArgs: { BASE: "127.0.0.1:5000/base@sha256:" + "a".repeat(64) } }).bases).toEqual(["127.0.0.1:5000/base@sha256:" + "a".repeat(64)]);
    expect(facts("FROM scratch\n").bases).toEqual([]);
  });

  test("Docker-only instructions of the target and the stages it is built FROM, not of others", () => {
    const df = "FROM busybox AS base\nHEALTHCHECK CMD true\nFROM busybox AS side\nONBUILD RUN x\nFROM base\nSHELL [\"/bin/sh\", \"-c\"]\nCOPY --from=side /a /a\n";
    expect(facts(df).dockerOnly).toEqual([{ keyword: "HEALTHCHECK", line: 2 }, { keyword: "SHELL", line: 6 }]);
    expect(facts(df, { target: "side" }).dockerOnly).toEqual([{ keyword: "ONBUILD", line: 4 }]);
    expect(facts("FROM busybox\nSTOPSIGNAL SIGTERM\nCMD true\n").dockerOnly).toEqual([]);
  });

  test("stages that cannot be planned: every Docker-only instruction counts, bases unknown", () => {
    const f = facts("FROM busybox\nHEALTHCHECK NONE\n", { target: "missing" });
    expect(f).toEqual({ dockerOnly: [{ keyword: "HEALTHCHECK", line: 2 }] });
  });
});
