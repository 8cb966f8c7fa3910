import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, tempDir } from "../../test/helpers/tmp.ts";
import { containerRegistry } from "./credentials.ts";

afterAll(cleanupTempDirs);

test("password from an environment variable, kept secret", () => {
  const r = containerRegistry({ uri: "127.0.0.1:5001", insecure: true, credentials: { username: "u", passwordEnv: "PW" } }, { PW: "hunter2" });
  expect(r.credentials?.password.reveal()).toBe("hunter2");
  expect(JSON.stringify(r)).not.toContain("hunter2");
});

test("password from a file, trailing newline dropped", () => {
  const f = join(tempDir("imgb-pw-"), "password");
  writeFileSync(f, "s3cret\n");
  const r = containerRegistry({ uri: "r", insecure: false, credentials: { username: "u", passwordFile: f } }, {});
  expect(r.credentials?.password.reveal()).toBe("s3cret");
});

test("unset variable: the error names the variable, not a value", () => {
  expect(() => containerRegistry({ uri: "r", insecure: false, credentials: { username: "u", passwordEnv: "NOPE" } }, {})).toThrow(
    "Registry password variable 'NOPE' is not set",
  );
});

test("no credentials: none resolved", () => {
  expect(containerRegistry({ uri: "r", insecure: true, repository: "x" }, {})).toEqual({ uri: "r", insecure: true, repository: "x" });
});
