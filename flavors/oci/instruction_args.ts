/**
 * Arguments of the config instructions, parsed the way BuildKit's instructions package does:
 * `KEY=value` pairs (and the legacy `KEY value` form), exec vs shell form commands, EXPOSE
 * ports and ranges, HEALTHCHECK flags with Go durations.
 */
import type { ContainerConfig } from "../../src/image/image.ts";
import type { Instruction } from "../../src/dockerfile/parse.ts";
import { splitWords } from "../../src/dockerfile/words.ts";

export function keyValues(ins: Instruction, escape: string, fail: (m: string) => Error): [string, string][] {
  const words = splitWords(ins.args, escape);
  if (words.length === 0) throw fail("requires at least one argument");
  if (!words[0]!.includes("=")) {
    // Legacy `ENV key value with spaces`.
    const m = ins.args.match(/^(\S+)\s+([\s\S]*)$/);
    if (!m) throw fail(`requires a value for ${JSON.stringify(words[0])}`);
    return [[m[1]!, m[2]!.trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw fail(`expected key=value: got ${JSON.stringify(w)}`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

export function command(ins: Instruction, c: ContainerConfig): string[] {
  if (ins.json) return ins.json;
  return [...(c.Shell ?? ["/bin/sh", "-c"]), ins.args];
}

export function exposedPorts(spec: string, fail: (m: string) => Error): string[] {
  const m = spec.match(/^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i);
  if (!m) throw fail(`invalid port ${JSON.stringify(spec)}: expected PORT[-END][/tcp|udp|sctp]`);
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (to < from || to > 65535) throw fail(`invalid port range ${JSON.stringify(spec)}`);
  const proto = (m[3] ?? "tcp").toLowerCase();
  return Array.from({ length: to - from + 1 }, (_, i) => `${from + i}/${proto}`);
}

/** Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds. */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]!]!;
  return Math.round(total);
}

export function healthcheck(ins: Instruction, fail: (m: string) => Error): ContainerConfig["Healthcheck"] {
  if (ins.args.toUpperCase() === "NONE") return { Test: ["NONE"] };
  const m = ins.args.match(/^CMD\s+([\s\S]+)$/i);
  if (!m) throw fail('expects "NONE" or "CMD command"');
  const rest = m[1]!.trim();
  let json: string[] | undefined;
  if (rest.startsWith("[")) {
    try {
      const v: unknown = JSON.parse(rest);
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) json = v;
    } catch {
      // shell form
    }
  }
  const hc: NonNullable<ContainerConfig["Healthcheck"]> = { Test: json ? ["CMD", ...json] : ["CMD-SHELL", rest] };
  const durations = { interval: "Interval", timeout: "Timeout", "start-period": "StartPeriod", "start-interval": "StartInterval" } as const;
  for (const [flag, value] of Object.entries(ins.flags)) {
    if (flag === "retries") {
      if (!/^\d+$/.test(value)) throw fail(`--retries must be a whole number: got ${JSON.stringify(value)}`);
      hc.Retries = Number(value);
    } else if (flag in durations) {
      const ns = parseDuration(value);
      if (ns === undefined) throw fail(`--${flag} must be a duration like 30s: got ${JSON.stringify(value)}`);
      hc[durations[flag as keyof typeof durations]] = ns;
    } else throw fail(`unknown flag --${flag}`);
  }
  return hc;
}
