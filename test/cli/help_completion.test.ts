/**
 * Help and shell completion through the compiled binary: `imgb help CMD`, `imgb CMD --help`,
 * group help (`imgb flavor --help`), `validate --set`, and the completion scripts: bash driven
 * with a COMP_WORDS simulation, fish with its own `complete -C`, zsh checked for syntax and
 * registration; image names come from the stack file through `imgb __complete images`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { imgbBinary, runImgb } from "../helpers/binary.ts";
import { requireTool } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { commands } from "../../src/cli/commands.ts";

afterAll(cleanupTempDirs);
const haveFish = await requireTool("fish");
const haveZsh = await requireTool("zsh");

const STACK = "image_builder: { flavor: docker }\nimages:\n  web: { dockerfile_inline: 'FROM scratch' }\n  team/api: { dockerfile_inline: 'FROM scratch' }\n";

describe("help", () => {
  test("imgb help CMD is imgb CMD --help, for commands and subcommands", async () => {
    for (const words of [["build"], ["flavor", "list"], ["completion"]]) {
      const viaHelp = await runImgb(["help", ...words]);
      const viaFlag = await runImgb([...words, "--help"]);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
      expect(viaHelp.stdout).toContain(`Usage: imgb ${words.join(" ")}`);
    }
    expect((await runImgb(["help"])).stdout).toBe((await runImgb(["--help"])).stdout);
  });

  test("imgb flavor --help and imgb help flavor list the subcommands; imgb flavor SUB --help", async () => {
    const group = await runImgb(["flavor", "--help"]);
    expect(group.code).toBe(0);
    expect(group.stdout).toBe((await runImgb(["help", "flavor"])).stdout);
    for (const sub of Object.keys(commands).filter((n) => n.startsWith("flavor "))) expect(group.stdout).toContain(`  ${sub.split(" ")[1]} `);
    const sub = await runImgb(["flavor", "describe", "-h"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain("Usage: imgb flavor describe NAME");
    const bare = await runImgb(["flavor"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("(hint: imgb flavor --help)");
  });

  test("help for an unknown command suggests the closest one; hidden plumbing is not listed", async () => {
    const r = await runImgb(["help", "biuld"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: Unknown command 'biuld' (hint: did you mean 'imgb build'?)");
    const sub = await runImgb(["help", "flavor", "lst"]);
    expect(sub.stderr).toContain("did you mean 'imgb flavor list'?");
    expect((await runImgb(["--help"])).stdout).not.toContain("__complete");
  });

  test("build --help shows the docker-style flags", async () => {
    const r = await runImgb(["build", "--help"]);
    for (const flag of ["--push", "--load", "--no-cache", "--pull", "--platform OS/ARCH,…"]) expect(r.stdout).toContain(flag);
  });
});

describe("validate --set", () => {
  test("overrides are checked like the file's values", async () => {
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": STACK });
    const ok = await runImgb(["validate", "--set", "web.target=debug"], { cwd: dir });
    expect(ok.code).toBe(0);
    const bad = await runImgb(["validate", "--set", "*.platforms=Linux"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--set '*.platforms=Linux'");
    const nomatch = await runImgb(["validate", "--set", "wbe.target=x"], { cwd: dir });
    expect(nomatch.stderr).toContain("matches no image (hint: did you mean 'web'?)");
  });
});

describe("shell completion", () => {
  const dir = tempDir();
  writeTree(dir, { "imgb.yaml": STACK, "other/stack.yaml": STACK.replace("web:", "worker:"), "sub/.keep": "" });
  const bin = dirname(imgbBinary());
  const env = { PATH: `${bin}:${process.env.PATH}` };

  test("__complete images: the stack's names, quietly; nothing for a missing or broken file", async () => {
    expect(await runImgb(["__complete", "images"], { cwd: dir })).toEqual({ code: 0, stdout: "web\nteam/api\n", stderr: "" });
    expect((await runImgb(["__complete", "images", "-f", "other/stack.yaml"], { cwd: dir })).stdout).toBe("worker\nteam/api\n");
    expect(await runImgb(["__complete", "images", "-f", "nope.yaml"], { cwd: dir })).toEqual({ code: 0, stdout: "", stderr: "" });
    writeTree(dir, { "broken.yaml": "images: [\n" });
    expect(await runImgb(["__complete", "images", "-f", "broken.yaml"], { cwd: dir })).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("completion: an unknown shell is a usage error", async () => {
    const r = await runImgb(["completion", "tcsh"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown shell 'tcsh' (hint: one of: bash, zsh, fish)");
  });

  test("bash: registered with complete -F, completes commands, subcommands, flags, choices and image names", async () => {
    const script = `source <(imgb completion bash)
complete -p imgb
c() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _imgb; echo "$*|\${COMPREPLY[*]}"; }
c imgb bu
c imgb flavor ''
c imgb flavor list --j
c imgb build --prog
c imgb build --progress ''
c imgb build --no-c
c imgb build ''
c imgb print -f other/stack.yaml w
c imgb context s
c imgb completion ''
c imgb help fl
`;
    const p = Bun.spawnSync(["bash", "-c", script], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
    expect(p.stderr.toString()).toBe("");
    expect(p.stdout.toString().trim().split("\n")).toEqual([
      "complete -F _imgb imgb",
      "imgb bu|build builders",
      // Derived like the script: a flavor subcommand added to the table completes too.
      `imgb flavor |${Object.keys(commands).filter((n) => n.startsWith("flavor ")).map((n) => n.split(" ")[1]).join(" ")}`,
      "imgb flavor list --j|--json",
      "imgb build --prog|--progress",
      "imgb build --progress |auto tty plain json",
      "imgb build --no-c|--no-cache",
      "imgb build |web team/api",
      "imgb print -f other/stack.yaml w|worker",
      "imgb context s|sub",
      "imgb completion |bash zsh fish",
      "imgb help fl|flavor",
    ]);
  });

  test("the scripts list every visible command and flag of the table", async () => {
    const specs = await Promise.all(Object.values(commands).map(async (l) => (await l()).default));
    for (const shell of ["bash", "zsh", "fish"]) {
      const out = (await runImgb(["completion", shell])).stdout;
      for (const s of specs.filter((x) => !x.hidden)) {
        for (const word of s.name.split(" ")) expect(out).toContain(word);
        for (const flag of Object.keys(s.options)) expect(out).toMatch(new RegExp(shell === "fish" ? `-l ${flag}\\b` : `--${flag}\\b`));
      }
      expect(out).not.toContain("'__complete'");
    }
  });

  describe.skipIf(!haveFish)("fish", () => {
    test("valid syntax; complete -C gives commands, subcommands, flag values and image names", async () => {
      const script = (await runImgb(["completion", "fish"])).stdout;
      const file = join(tempDir(), "imgb.fish");
      await Bun.write(file, script);
      expect(Bun.spawnSync(["fish", "-n", file]).exitCode).toBe(0);
      const ask = (line: string) => Bun.spawnSync(["fish", "--no-config", "-c", `source ${file}; complete -C ${JSON.stringify(line)}`], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
      const words = (line: string) => {
        const p = ask(line);
        expect(p.stderr.toString()).toBe("");
        return p.stdout.toString().trim().split("\n").map((l) => l.split("\t")[0]);
      };
      expect(words("imgb bu")).toEqual(["build", "builders"]);
      expect(words("imgb reuse ").sort()).toEqual(["list", "prune"]);
      expect(words("imgb build --progress ").sort()).toEqual(["auto", "json", "plain", "tty"]);
      expect(words("imgb build ").sort()).toEqual(["team/api", "web"]);
      expect(words("imgb build -f other/stack.yaml ").sort()).toEqual(["team/api", "worker"]);
      expect(words("imgb completion ").sort()).toEqual(["bash", "fish", "zsh"]);
    });
  });

  describe.skipIf(!haveZsh)("zsh", () => {
    test("valid syntax; registers _imgb for imgb after compinit", async () => {
      const script = (await runImgb(["completion", "zsh"])).stdout;
      expect(script.startsWith("#compdef imgb\n")).toBe(true);
      const file = join(tempDir(), "_imgb");
      await Bun.write(file, script);
      expect(Bun.spawnSync(["zsh", "-n", file]).exitCode).toBe(0);
      const p = Bun.spawnSync(["zsh", "-f", "-c", `autoload -U compinit; compinit -u -D; source ${file}; print -r -- $_comps[imgb]; whence -w _imgb _imgb_images`], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
      expect(p.stderr.toString()).toBe("");
      expect(p.stdout.toString()).toBe("_imgb\n_imgb: function\n_imgb_images: function\n");
    });

    // zsh completes only inside its line editor: an interactive zsh on a pty (zsh/zpty) gets the
    // line and a TAB, and a compadd wrapper writes down what the completion offered.
    test("completes commands, flag values and image names in a real line editor", async () => {
      const work = tempDir();
      const script = join(work, "_imgb");
      await Bun.write(script, (await runImgb(["completion", "zsh"])).stdout);
      const driver = join(work, "drive.zsh");
      await Bun.write(driver, [
        "zmodload zsh/zpty",
        "out=$1 script=$2 line=$3",
        "zpty z zsh -f -i",
        'zpty -w z "autoload -U compinit; compinit -u -D; source ${(q)script}"',
        `zpty -w z 'compadd() { local -a __hits; builtin compadd -O __hits "$@"; (( $#__hits )) && print -l -- $__hits >> '"\${(q)out}"'; builtin compadd "$@" }'`,
        `zpty -w -n z "$line"$'\\t'`,
        "for i in {1..400}; do [[ -s $out ]] && break; sleep 0.05; done",
        "sleep 0.5",
        "zpty -d z",
        "",
      ].join("\n"));
      const offered = (line: string, n: number) => {
        const out = join(work, `out-${n}`);
        Bun.spawnSync(["zsh", "-f", driver, out, script, line], { cwd: dir, env, stdout: "ignore", stderr: "ignore" });
        return existsSync(out) ? [...new Set(readFileSync(out, "utf8").trim().split("\n"))].sort() : [];
      };
      expect(offered("imgb bu", 1)).toEqual(["build", "builders"]);
      expect(offered("imgb reuse ", 2)).toEqual(["list", "prune"]);
      expect(offered("imgb build --progress ", 3)).toEqual(["auto", "json", "plain", "tty"]);
      expect(offered("imgb build --no-c", 4)).toEqual(["--no-cache"]);
      expect(offered("imgb build ", 5)).toEqual(["team/api", "web"]);
      expect(offered("imgb print -f other/stack.yaml ", 6)).toEqual(["team/api", "worker"]);
    }, 60_000);
  });
});
