/**
 * Docker credential helpers (docker-credential-helpers' protocol, as docker and
 * go-containerregistry run them): `docker-credential-<name> get`, the server URL on stdin,
 * `{"ServerURL","Username","Secret"}` on stdout. The username `<token>` means the secret is an
 * identity token (docker/cli's native store). "credentials not found in native keychain" on
 * stdout with a failed exit is not an error: there is no login for that server (anonymous).
 *
 * The helper gets imgb's whole environment, as docker and go-containerregistry give it theirs:
 * helpers read variables of their own (pass: PASSWORD_STORE_DIR and GNUPGHOME; secretservice:
 * DBUS_SESSION_BUS_ADDRESS; ecr-login: AWS_*; gcloud: CLOUDSDK_*; acr: AZURE_*), which no
 * allow-list can know. The helper is the user's own program, chosen in their own config, and
 * runs as the user: it sees nothing the user's shell does not already give it — except the
 * stack's registry password (`password_env`), which is kept out (`hide`). Its answer never
 * reaches a log or an error: a failure shows the helper's name, its exit code and the tail of
 * its stderr only (stdout may hold a secret).
 */
import { ExecError, exec } from "../../exec.ts";
import { CancelledError, RuntimeError } from "../../errors.ts";
import { Secret } from "../../secret.ts";
import type { Authn } from "./auth.ts";

/** docker-credential-helpers' credentials.ErrCredentialsNotFound. */
const NOT_FOUND = "credentials not found in native keychain";
/** docker/cli's tokenUsername: the secret is an identity token. */
const TOKEN_USERNAME = "<token>";

/** The helper's answer for `serverUrl`: credentials, or undefined when it has none for that server. */
export async function helperCredentials(name: string, serverUrl: string, signal?: AbortSignal, hide: readonly string[] = []): Promise<Authn | undefined> {
  const program = `docker-credential-${name}`;
  let stdout: string;
  try {
    stdout = (await exec([program, "get"], { stdin: `${serverUrl}\n`, inheritEnv: "all", redact: hide, tailLines: 0, ...(signal ? { signal } : {}) })).stdout;
  } catch (e) {
    if (e instanceof CancelledError) throw e;
    if (e instanceof ExecError && e.code === "exec.not-found") {
      throw new RuntimeError("registry.credential-helper", `Credential helper '${program}' (for ${serverUrl}) is not on PATH`, {
        hint: "install it, or remove it from credHelpers/credsStore in the docker config.json",
      });
    }
    if (e instanceof ExecError) {
      if (e.stdout.trim() === NOT_FOUND) return undefined;
      throw helperError(program, serverUrl, `failed with ${e.signal ? `signal ${e.signal}` : `exit code ${e.exitStatus}`}${stderrTail(e.stderr)}`);
    }
    throw e;
  }
  let answer: { Username?: unknown; Secret?: unknown };
  try {
    answer = JSON.parse(stdout) as typeof answer;
  } catch {
    throw helperError(program, serverUrl, "answered with something that is not JSON");
  }
  if (typeof answer !== "object" || answer === null || typeof answer.Secret !== "string" || (answer.Username !== undefined && typeof answer.Username !== "string")) {
    throw helperError(program, serverUrl, 'answered without the string fields "Username" and "Secret"');
  }
  const username = (answer.Username as string | undefined) ?? "";
  if (username === "" && answer.Secret === "") return undefined;
  const secret = new Secret(answer.Secret, program);
  if (username === TOKEN_USERNAME) return { kind: "identity-token", token: secret, source: program };
  return { kind: "basic", username, password: secret, source: program };
}

/** Is `e` a credential helper's failure (not an answer, not a registry's refusal)? */
export function isHelperFailure(e: unknown): boolean {
  return e instanceof RuntimeError && e.code === "registry.credential-helper";
}

function helperError(program: string, serverUrl: string, what: string): RuntimeError {
  return new RuntimeError("registry.credential-helper", `Credential helper '${program}' ${what} (asked for ${serverUrl})`, {
    hint: `run 'echo ${serverUrl} | ${program} get' to see what it says`,
  });
}

/** `: last stderr line(s)`, short: the helper's own reason. */
function stderrTail(stderr: string): string {
  const lines = stderr.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return "";
  const tail = lines.slice(-2).join(" / ");
  return `: ${tail.length > 200 ? `…${tail.slice(-200)}` : tail}`;
}
