import { afterAll, describe, expect, test } from "bun:test";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";
import { hostPlatform } from "../../src/emulation.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { platformString } from "../../src/platform.ts";
import { runCheck, runPlatforms } from "./run_check.ts";

afterAll(cleanupTempDirs);

const s390x = { os: "linux", architecture: "s390x" };
const host = platformString(hostPlatform());
const CROSS = "FROM --platform=$BUILDPLATFORM base AS build\nRUN make\nFROM build AS more\nRUN make more\nFROM base\nCOPY --from=more /out /out\n";

describe("runPlatforms", () => {
  test("a FROM --platform=$BUILDPLATFORM stage (and one built on it) runs here; the target's own stages on the target", () => {
    const cross = runPlatforms(parseDockerfile(CROSS, "D"), {}, s390x);
    expect([...cross.keys()]).toEqual([host]);
    expect(cross.get(host)!.run.line).toBe(2);
    const both = runPlatforms(parseDockerfile(`${CROSS}RUN check\n`, "D"), {}, s390x);
    expect([...both.keys()]).toEqual([host, "linux/s390x"]);
    expect(both.get("linux/s390x")!.run.line).toBe(7);
  });

  test("no RUN in the stages the target needs: nothing", () => {
    expect(runPlatforms(parseDockerfile("FROM base AS unused\nRUN x\nFROM base\nCOPY a /a\n", "D"), {}, s390x).size).toBe(0);
  });
});

describe("runCheck", () => {
  // A mounted binfmt_misc with no handler at all: every foreign platform lacks an emulator.
  const binfmtDir = tempDir("imgb-binfmt-");
  writeTree(binfmtDir, { register: "", status: "enabled\n" });
  const root = { uid: 0, binfmtDir };

  test("cross-compiling for s390x needs no emulator; a RUN on s390x does, located at it", () => {
    expect(runCheck(parseDockerfile(CROSS, "D"), {}, ["linux/s390x"], undefined, root)).toEqual([]);
    const [e, ...rest] = runCheck(parseDockerfile(`${CROSS}RUN check\n`, "D"), {}, [host, "linux/s390x"], undefined, root);
    expect(rest).toEqual([]);
    expect(e!.message).toBe(`RUN steps for linux/s390x need an emulator on this ${host} machine: no enabled qemu-s390x handler in ${binfmtDir}`);
    expect(e!.hint).toStartWith("install qemu-user-static");
    expect(e!.location).toEqual({ file: "D", line: 7, col: 1 });
  });

  test("not root: said once, at the first RUN", () => {
    const errors = runCheck(parseDockerfile(`${CROSS}RUN check\n`, "D"), {}, ["linux/s390x"], undefined, { uid: 1000, binfmtDir });
    expect(errors.map((e) => `${e.location?.line}: ${e.message.slice(0, 40)}`)).toEqual(["2: The 'oci' flavor runs RUN steps as root ", "7: RUN steps for linux/s390x need an emulat"]);
  });
});
