/**
 * Rendering build events on stderr: `plain` (one prefixed line per event), `json` (one event
 * object per line), `tty` (one live line per image: state, step, elapsed, last output), and
 * the final summary. stdout is never touched here.
 */
import type { BuildEvent } from "../orchestrate/events.ts";
import { ImgbError } from "../errors.ts";
import { errJson, paint, type Io } from "./io.ts";

export type ProgressMode = "auto" | "tty" | "plain" | "json";

export interface Renderer {
  event(e: BuildEvent): void;
  close(): void;
}

export function renderer(mode: ProgressMode, io: Io, names: readonly string[], isTty: boolean): Renderer {
  const m = mode === "auto" ? (isTty ? "tty" : "plain") : mode;
  if (m === "json") return jsonRenderer(io);
  if (m === "tty") return ttyRenderer(io, names);
  return plainRenderer(io, names);
}

function errorText(e: Error): string {
  return e instanceof ImgbError ? e.describe() + (e.hint ? ` (hint: ${e.hint})` : "") : e.message;
}

function plainRenderer(io: Io, names: readonly string[]): Renderer {
  const width = Math.max(...names.map((n) => n.length));
  const p = paint(io.color);
  const line = (image: string, text: string) => io.err(`${p.dim(`${image.padEnd(width)} |`)} ${text}`);
  return {
    event(e) {
      switch (e.type) {
        case "start":
          return e.node === undefined ? undefined : line(e.image, p.dim(`=> on node ${e.node}`));
        case "node-down":
          return e.image === undefined
            ? io.err(p.yellow(`warning: builder node '${e.node}' is down, building on the others: ${e.reason}`))
            : line(e.image, p.yellow(`builder node '${e.node}' went down (${e.reason}): moving the build to another node`));
        case "log":
          return line(e.image, e.line);
        case "step":
          return line(e.image, p.dim(`=> ${e.step}`));
        case "warning":
          return line(e.image, p.yellow(`warning: ${e.message}`));
        case "done":
          return line(e.image, p.green(`${e.result.reused ? "reused" : "built"} in ${seconds(e.result.durationMs)}: ${e.result.ref}`));
        case "failed":
          return errorText(e.error).split("\n").forEach((l) => line(e.image, p.red(l)));
        case "skipped":
          return line(e.image, p.yellow(`skipped: '${e.because}' did not build`));
        case "cancelled":
          return line(e.image, p.yellow("cancelled"));
      }
    },
    close() {},
  };
}

function jsonRenderer(io: Io): Renderer {
  return {
    event(e) {
      const out: Record<string, unknown> = { ...e };
      if (e.type === "failed") out.error = e.error instanceof ImgbError ? e.error.toJSON() : { message: e.error.message };
      errJson(io, out);
    },
    close() {},
  };
}

interface Row {
  state: string;
  step: string;
  last: string;
  started?: number;
  ended?: number;
}

/** Live lines, redrawn in place at most every 100 ms; errors are printed in full below at the end. */
function ttyRenderer(io: Io, names: readonly string[]): Renderer {
  const p = paint(io.color);
  const rows = new Map<string, Row>(names.map((n) => [n, { state: "waiting", step: "", last: "" }]));
  const failures: string[] = [];
  const width = Math.max(...names.map((n) => n.length));
  const columns = process.stderr.columns ?? 100;
  let drawn = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const draw = () => {
    const now = performance.now();
    let out = drawn ? `\x1b[${drawn}A` : "";
    for (const [name, r] of rows) {
      const t = r.started === undefined ? "" : seconds((r.ended ?? now) - r.started);
      const colour = r.state === "failed" ? p.red : r.state === "built" || r.state === "reused" ? p.green : r.state === "skipped" ? p.yellow : (s: string) => s;
      const text = `${name.padEnd(width)}  ${colour(r.state.padEnd(9))} ${r.step.padEnd(9)} ${t.padStart(7)}  `;
      const room = Math.max(0, columns - (width + 31));
      out += `\x1b[2K${text}${p.dim(r.last.slice(0, room))}\n`;
    }
    drawn = rows.size;
    io.errRaw(out);
  };
  return {
    event(e) {
      if (e.type === "node-down") {
        failures.push(e.image === undefined ? `warning: builder node '${e.node}' is down: ${e.reason}` : `${e.image}: builder node '${e.node}' went down (${e.reason}): moved to another node`);
      }
      if (e.image === undefined) return;
      const r = rows.get(e.image);
      if (!r) return;
      switch (e.type) {
        case "start":
          Object.assign(r, { state: "running", started: performance.now(), last: e.node === undefined ? r.last : `on node ${e.node}` });
          timer ??= setInterval(draw, 100);
          break;
        case "step":
          r.step = e.step;
          break;
        case "log":
          r.last = e.line.replace(/\s+/g, " ").trim();
          return;
        case "warning":
          failures.push(`${e.image}: warning: ${e.message}`);
          break;
        case "done":
          Object.assign(r, { state: e.result.reused ? "reused" : "built", step: "", last: e.result.ref, ended: performance.now() });
          break;
        case "failed":
          Object.assign(r, { state: "failed", ended: performance.now(), last: e.error.message.split("\n")[0] ?? "" });
          failures.push(`${e.image}: ${errorText(e.error)}`);
          break;
        case "skipped":
          Object.assign(r, { state: "skipped", last: `'${e.because}' did not build` });
          break;
        case "cancelled":
          r.state = "cancelled";
          break;
      }
      draw();
    },
    close() {
      if (timer) clearInterval(timer);
      draw();
      for (const f of failures) io.err(f);
    },
  };
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
