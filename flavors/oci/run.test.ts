import { afterAll, describe, expect, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { InputError } from "../../src/errors.ts";
import { hostPlatform } from "../../src/emulation.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { makeWorkdir, prepareMountPoints, resolveUser, runProblems } from "./run.ts";

afterAll(cleanupTempDirs);

const where = { file: "Dockerfile", line: 5, col: 1 };

describe("resolveUser", () => {
  const root = tempDir("imgb-runuser-");
  writeTree(root, { "etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n", "etc/group": "root:x:0:\nstaff:x:50:app\n" });

  test("names and numbers, as docker resolves them", () => {
    expect(resolveUser(root, "", where)).toBeUndefined();
    expect(resolveUser(root, "app", where)).toEqual({ uid: 1000, gid: 1001 });
    expect(resolveUser(root, "1000", where)).toEqual({ uid: 1000, gid: 1001 });
    expect(resolveUser(root, "4242", where)).toEqual({ uid: 4242, gid: 0 }); // not in passwd: gid 0
    expect(resolveUser(root, "app:staff", where)).toEqual({ uid: 1000, gid: 50 });
    expect(resolveUser(root, "7:8", where)).toEqual({ uid: 7, gid: 8 });
  });

  test("an unknown name is a located error", () => {
    expect(() => resolveUser(root, "ghost", where)).toThrow(InputError);
    expect(() => resolveUser(root, "ghost", where)).toThrow('user "ghost" is not in the stage\'s /etc/passwd');
    expect(() => resolveUser(root, "app:ghosts", where)).toThrow('group "ghosts" is not in the stage\'s /etc/group');
  });
});

describe("the root's mount points and working directory", () => {
  test("missing mount points are made; a symlinked /dev is refused (it would point the mounts elsewhere)", () => {
    const root = tempDir("imgb-runroot-");
    prepareMountPoints(root);
    const evil = tempDir("imgb-runroot-");
    symlinkSync("/", `${evil}/dev`);
    expect(() => prepareMountPoints(evil)).toThrow("The stage's /dev is a symbolic link");
  });

  test("WORKDIR is made inside the root, through the root's own symlinks", () => {
    const root = tempDir("imgb-runroot-");
    const outside = tempDir("imgb-runroot-out-");
    symlinkSync(outside, `${root}/w`);
    makeWorkdir(root, "/w/app");
    expect(Bun.spawnSync(["ls", outside]).stdout.toString()).toBe("");
    expect(Bun.spawnSync(["test", "-d", `${root}${outside}/app`]).exitCode).toBe(0);
  });
});

describe("runProblems", () => {
  test("not root: one line saying so, with what to do instead", () => {
    const [p] = runProblems([hostPlatform()], 1000);
    expect(p!.message).toBe("The 'oci' flavor runs RUN steps as root only (a chroot and mounts in private namespaces): imgb runs as uid 1000");
    expect(p!.hint).toContain("podman or buildah");
  });

  test("root on the host's own platform: nothing (util-linux is installed here)", () => {
    expect(runProblems([hostPlatform()], 0)).toEqual([]);
  });
});
