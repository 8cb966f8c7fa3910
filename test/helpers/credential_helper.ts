/**
 * A docker credential helper for the tests, speaking the real protocol: `docker-credential-imgbtest
 * get`, the server URL on stdin, `{"ServerURL","Username","Secret"}` on stdout. It is a shell
 * script in `<dir>/bin` (put that on PATH); what it answers is in files beside it, so the secret is
 * never in any argv or environment: `mode` (ok | notfound | fail | token | garbage: not JSON, with the secret in it), `secret`, and it
 * appends every server URL it is asked about to `asked` and writes the environment it got to
 * `last-env` (what imgb gives a helper). It knows one server (`host`); any other
 * gets "credentials not found", as a real helper would.
 *
 * `useHelper()` also writes `<dir>/docker/config.json` naming it in `credHelpers` and points
 * DOCKER_CONFIG (and PATH) of this test process at them; `restore()` undoes that.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clearKeychainCache } from "../../src/image/remote/keychain.ts";

export const HELPER_NAME = "imgbtest";

const SCRIPT = `#!/bin/sh
d=$(dirname "$0")/..
[ "$1" = get ] || { echo "unsupported action: $1" >&2; exit 2; }
read -r url
echo "$url" >> "$d/asked"
env > "$d/last-env"
mode=$(cat "$d/mode")
if [ "$url" != "$(cat "$d/host")" ] || [ "$mode" = notfound ]; then
  echo "credentials not found in native keychain"; exit 1
fi
case "$mode" in
  ok) printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\\n' "$url" "$(cat "$d/user")" "$(cat "$d/secret")" ;;
  garbage) printf 'Username=imgb Secret=%s\n' "$(cat "$d/secret")" ;;
  token) printf '{"ServerURL":"%s","Username":"<token>","Secret":"%s"}\\n' "$url" "$(cat "$d/secret")" ;;
  *) echo "starting the keyring" >&2; echo "gpg: decryption failed: No secret key" >&2; exit 3 ;;
esac
`;

export type HelperMode = "ok" | "notfound" | "fail" | "token" | "garbage";

export interface TestHelper {
  dir: string;
  /** The docker config directory naming the helper (DOCKER_CONFIG). */
  dockerConfigDir: string;
  setMode(mode: HelperMode): void;
  /** Every server URL the helper was asked about, in order. */
  asked(): string[];
  /** The environment of the helper's last run, `NAME=value` lines. */
  lastEnv(): string[];
  /** The environment the engines and imgb need to find the helper. */
  env: { PATH: string; DOCKER_CONFIG: string };
  restore(): void;
}

/** Installs the helper in `dir` for `host`, answering `user` / `secret`, and points this process at it. */
export function useHelper(dir: string, host: string, user: string, secret: string, extraConfig: Record<string, unknown> = {}): TestHelper {
  mkdirSync(join(dir, "bin"), { recursive: true });
  const program = join(dir, "bin", `docker-credential-${HELPER_NAME}`);
  writeFileSync(program, SCRIPT);
  chmodSync(program, 0o755);
  for (const [name, value] of Object.entries({ host, user, secret, mode: "ok" })) writeFileSync(join(dir, name), value, { mode: 0o600 });
  const dockerConfigDir = join(dir, "docker");
  mkdirSync(dockerConfigDir, { recursive: true });
  writeFileSync(join(dockerConfigDir, "config.json"), JSON.stringify({ credHelpers: { [host]: HELPER_NAME }, ...extraConfig }));
  const saved = { PATH: process.env.PATH, DOCKER_CONFIG: process.env.DOCKER_CONFIG };
  const env = { PATH: `${join(dir, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`, DOCKER_CONFIG: dockerConfigDir };
  Object.assign(process.env, env);
  clearKeychainCache();
  return {
    dir,
    dockerConfigDir,
    env,
    setMode: (mode) => {
      writeFileSync(join(dir, "mode"), mode);
      clearKeychainCache();
    },
    asked: () => (existsSync(join(dir, "asked")) ? readFileSync(join(dir, "asked"), "utf8").split("\n").filter(Boolean) : []),
    lastEnv: () => (existsSync(join(dir, "last-env")) ? readFileSync(join(dir, "last-env"), "utf8").split("\n") : []),
    restore: () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      clearKeychainCache();
    },
  };
}
