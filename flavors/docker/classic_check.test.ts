import { describe, expect, test } from "bun:test";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { buildkitOnlyFeatures, buildkitOnlyOptions } from "./classic_check.ts";

describe("what the classic builder cannot build (builder: auto without buildx)", () => {
  test("a plain Dockerfile needs nothing BuildKit-only", () => {
    expect(buildkitOnlyFeatures("# escape=\\\nFROM busybox AS b\nCOPY --from=b --chown=1:1 a /a\nRUN echo --mount \\\n  && true\nCMD [\"--link\"]\n")).toEqual([]);
  });

  test("directives, RUN flags, COPY/ADD flags and heredocs, by line", () => {
    const df = [
      "# syntax=docker/dockerfile:1.4",
      "FROM busybox",
      "RUN --mount=type=cache,target=/root/.cache \\",
      "    --network=none make",
      "# a comment",
      "COPY --link --chmod=0755 a /a",
      "ADD --checksum=sha256:abc https://example.invalid/x /x",
      "RUN <<EOF",
      "echo hi",
      "EOF",
      "RUN --security=insecure true",
    ].join("\n");
    expect(buildkitOnlyFeatures(df)).toEqual([
      "the '# syntax=' directive (line 1)",
      "RUN --mount (line 3)",
      "RUN --network (line 3)",
      "COPY --link (line 6)",
      "COPY --chmod (line 6)",
      "ADD --checksum (line 7)",
      "a heredoc in RUN (line 8)",
      "RUN --security (line 11)",
    ]);
    // A directive below the first instruction is a comment.
    expect(buildkitOnlyFeatures("FROM busybox\n# syntax=docker/dockerfile:1\n")).toEqual([]);
  });

  test("options: secrets, ssh, an inline cache export", () => {
    expect(buildkitOnlyOptions(defaultBuildOptions({}))).toEqual([]);
    const o = defaultBuildOptions({ secrets: [{ id: "t", env: "T" }], ssh: [{ id: "default" }], cacheTo: [{ type: "inline" }] });
    const out = buildkitOnlyOptions(o);
    expect(out.slice(0, 2)).toEqual(["build secrets (RUN --mount=type=secret)", "SSH forwarding (RUN --mount=type=ssh)"]);
    expect(out[2]).toStartWith("cache_to: ");
  });
});
