import { afterAll, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { defaultAuthFiles, seedAuthfile } from "./authfile.ts";

afterAll(cleanupTempDirs);

test("the default files, in containers/image's order: the primary file, the containers config, the docker config", () => {
  expect(defaultAuthFiles({ HOME: "/h", XDG_RUNTIME_DIR: "/run/user/1" })).toEqual(["/run/user/1/containers/auth.json", "/h/.config/containers/auth.json", "/h/.docker/config.json"]);
  expect(defaultAuthFiles({ HOME: "/h", REGISTRY_AUTH_FILE: "/a.json", XDG_CONFIG_HOME: "/c", DOCKER_CONFIG: "/d" })).toEqual(["/a.json", "/c/containers/auth.json", "/d/config.json"]);
});

test("the private authfile starts with the user's logins and helpers, earlier files winning, never the stack's host, 0600", () => {
  const dir = tempDir();
  writeTree(dir, {
    "primary.json": JSON.stringify({ auths: { "a.example": { auth: "cHJpbWFyeTp4" } }, credHelpers: { "h.example": "pass" } }),
    "docker/config.json": JSON.stringify({ auths: { "a.example": { auth: "ZG9ja2VyOng=" }, "b.example": { auth: "Yjp5" }, "https://stack.example/v1/": { auth: "czp6" } }, credHelpers: { "stack.example": "osxkeychain", "g.example": "gcloud" }, credsStore: "desktop" }),
  });
  const out = join(dir, "auth.json");
  writeFileSync(out, "stale");
  seedAuthfile(out, "stack.example", { HOME: dir, REGISTRY_AUTH_FILE: join(dir, "primary.json"), DOCKER_CONFIG: join(dir, "docker") });
  expect(JSON.parse(readFileSync(out, "utf8"))).toEqual({
    auths: { "a.example": { auth: "cHJpbWFyeTp4" }, "b.example": { auth: "Yjp5" } },
    credHelpers: { "h.example": "pass", "g.example": "gcloud" },
  });
  expect(statSync(out).mode & 0o777).toBe(0o600);
});

test("no files: an empty authfile (login adds the stack's registry)", () => {
  const dir = tempDir();
  const out = join(dir, "auth.json");
  seedAuthfile(out, "stack.example", { HOME: dir });
  expect(JSON.parse(readFileSync(out, "utf8"))).toEqual({ auths: {} });
});
