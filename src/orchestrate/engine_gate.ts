/**
 * The engine is asked for only when an image needs it. A fully reused run (every image found in
 * the registry and re-tagged there) never starts the engine, so its probe — a `docker version`
 * process, 50-100 ms — would be the biggest cost of the run. The gate probes once, on the first
 * engine build or tag: every image waiting behind it gets the same answer, and a wrong engine
 * still fails once, in one line, before anything is built (the run stops there: the caller aborts
 * its other images with that error).
 *
 * `--jobs` is how many engine builds run at once: the engine is what it protects. Checksums,
 * registry lookups and re-tags are cheap and run for more images at once (LOOKUP_CONCURRENCY),
 * so a stack of reused images is not walked two at a time. `Slots` counts the builds.
 */
import type { TObject } from "@sinclair/typebox";
import type { ImageBuilderClass } from "../builder/flavor.ts";

/** Images prepared, looked up and re-tagged at once, whatever `--jobs` is (builds still take a slot each). */
export const LOOKUP_CONCURRENCY = 16;

/** Runs `probe` once, on the first `open()`; every caller then shares its outcome. */
export class EngineGate {
  readonly #probe: () => Promise<void>;
  #opened?: Promise<void>;
  #error?: unknown;

  constructor(probe: () => Promise<void>) {
    this.#probe = probe;
  }

  /** Resolves when the engine answered the probe; rejects, for every caller, with its one error. */
  open(): Promise<void> {
    this.#opened ??= this.#probe().catch((e: unknown) => {
      this.#error = e;
      throw e;
    });
    return this.#opened;
  }

  /** Was the probe run (an image needed the engine)? */
  get probed(): boolean {
    return this.#opened !== undefined;
  }

  /** The probe's error, once it failed. */
  get error(): unknown {
    return this.#error;
  }
}

/** At most `size` tasks at once; the others wait their turn, first come first served. */
export class Slots {
  readonly #size: number;
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#size = Math.max(1, Math.floor(size));
  }

  /** Tasks running now. */
  get busy(): number {
    return this.#busy;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#busy >= this.#size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#busy++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line (busy stays), or is freed.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#busy--;
    }
  }
}

const GATE = Symbol("imgb.engineGate");

/** The gate in front of `builder`'s engine, when it is a gated builder's. */
export function engineGateOf(builder: object): EngineGate | undefined {
  return (builder as { [GATE]?: EngineGate })[GATE];
}

export interface EngineHooks {
  gate: EngineGate;
  /** Engine builds at once (`--jobs`). */
  builds: Slots;
  /** After each engine build or tag, done or failed: local tags may have moved. */
  changed?(): void;
}

/**
 * `Builder` with its engine calls behind the gate: `build` (which also takes a build slot) and
 * `tagImage`. The flavor's class is subclassed, not wrapped, so everything else about it (its
 * build context class, `localImageId`, statics) is the flavor's own. `engineGateOf` finds the
 * gate (reuse.ts asks the engine before it forgets a local record whose image it did not find).
 */
export function gatedBuilder(Builder: ImageBuilderClass<TObject>, hooks: EngineHooks): ImageBuilderClass<TObject> {
  const build = Builder.prototype.build;
  const tagImage = Builder.prototype.tagImage;
  const Gated = class extends Builder {
    readonly [GATE] = hooks.gate;
    override async build(...args: Parameters<typeof build>): Promise<string> {
      await hooks.gate.open();
      try {
        return await hooks.builds.run(() => build.apply(this, args));
      } finally {
        hooks.changed?.();
      }
    }
  };
  // Optional: a builder without it never has local builds reused (canRetag), and must stay so.
  if (typeof tagImage === "function") {
    Gated.prototype.tagImage = async function (this: InstanceType<typeof Gated>, ...args: Parameters<typeof tagImage>): Promise<void> {
      await hooks.gate.open();
      try {
        return await tagImage.apply(this, args);
      } finally {
        hooks.changed?.();
      }
    };
  }
  return Gated;
}
