/**
 * The one rule for where an extra file may go in a build context, shared by the SDK
 * (`BuildContext.addFile` and friends) and the stack's `extra_files` keys: a relative path that
 * names one place inside the context. Any ".." is refused, even one that stays inside
 * ("a/../b"): quietly rewriting it to "b" would put the file somewhere the author did not
 * write. Backslashes are separators (a path written on Windows), and a drive letter is absolute.
 */
import { cleanPath } from "./ignore.ts";

/** The destination as the context names it ("config/app.yaml"), or undefined when it is not one place inside it. */
export function contextDestination(destination: string): string | undefined {
  const slashed = destination.replaceAll("\\", "/");
  if (destination.trim() === "" || slashed.startsWith("/") || /^[A-Za-z]:\//.test(slashed) || slashed.split("/").includes("..")) return undefined;
  const cleaned = cleanPath(slashed);
  return cleaned === "." ? undefined : cleaned;
}
