#!/usr/bin/env bun
/**
 * Prepares the build context of imgb's own container image (container/Dockerfile,
 * container/imgb.yaml): dist/container/rootfs/ with the glibc release binary at
 * /usr/local/bin/imgb, exactly the shared libraries `ldd` lists for it (copied to the same paths,
 * symlinks resolved), and a two-line /etc/passwd and /etc/group. Nothing else: no shell.
 *
 *   bun run release --target linux-x64 && bun scripts/container-rootfs.ts
 *   bun scripts/container-rootfs.ts --binary /tmp/rel/imgb-linux-x64 --out /tmp/ctx
 *
 * Why glibc and not the musl binary: Bun's musl build needs a musl-built libstdc++.so.6 and
 * libgcc_s, which Debian does not package (its `musl` package has only the loader), so a
 * FROM-scratch image cannot be assembled from this machine's packages. The glibc binary needs
 * only libc, libm, libdl, libpthread and the loader (~2.5 MiB together).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const hostTarget = `linux-${process.arch === "arm64" ? "arm64" : "x64"}`;

function fail(message: string): never {
  process.stderr.write(`container-rootfs: error: ${message}\n`);
  process.exit(1);
}

/** The absolute paths `ldd` resolves for a binary: `name => /path (0x…)` and `/path (0x…)` lines. */
export function lddPaths(lddOutput: string): string[] {
  const paths = new Set<string>();
  for (const line of lddOutput.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) paths.add(m[1]!);
  }
  return [...paths];
}

export function prepareRootfs(binary: string, out: string): { files: string[] } {
  if (!existsSync(binary)) fail(`No binary '${binary}': build it with 'bun run release --target ${hostTarget}' or pass --binary`);
  const ldd = Bun.spawnSync(["ldd", binary], { stdout: "pipe", stderr: "pipe" });
  const text = ldd.stdout.toString();
  if (ldd.exitCode !== 0 || /not a dynamic executable|not found/.test(text)) {
    fail(`'ldd ${binary}' failed (exit ${ldd.exitCode}): ${(text + ldd.stderr.toString()).trim()}`);
  }
  const rootfs = join(out, "rootfs");
  rmSync(rootfs, { recursive: true, force: true });
  const files: string[] = [];
  const put = (dest: string, src: string, mode: number) => {
    const to = join(rootfs, dest);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(src, to); // follows symlinks: /lib64/ld-linux-x86-64.so.2 becomes a regular file
    chmodSync(to, mode);
    files.push(dest);
  };
  put("/usr/local/bin/imgb", binary, 0o755);
  for (const lib of lddPaths(text)) put(lib, lib, 0o755);
  mkdirSync(join(rootfs, "etc"), { recursive: true });
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  files.push("/etc/passwd", "/etc/group");
  return { files };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const binary = resolve(opt("--binary") ?? join(root, "dist/release", `imgb-${hostTarget}`));
  const out = resolve(opt("--out") ?? join(root, "dist/container"));
  const { files } = prepareRootfs(binary, out);
  process.stderr.write(`container-rootfs: ${join(out, "rootfs")}:\n${files.map((f) => `  ${f}\n`).join("")}`);
}
