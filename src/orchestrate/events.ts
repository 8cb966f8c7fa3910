/** What happens during `imgb build`, as events: the CLI renders them (plain, tty, json). */
export interface ImageResult {
  image: string;
  /** The digest reference when pushed (`registry/repo@sha256:…`), else the local image name. */
  ref: string;
  digest?: string;
  imageId?: string;
  /** Multi-platform images: platform -> manifest digest (the index entries). */
  platforms?: Record<string, string>;
  /** The image checksum (what decides reuse; also the image's `dev.imgb.checksum` label). */
  checksum: string;
  /** True when an earlier identical build was reused instead of building. */
  reused: boolean;
  /** Where the reused build was found: this machine's store, or the registry's record tag. */
  reusedFrom?: "local" | "registry";
  durationMs: number;
  /** The builder node that built or re-tagged it (a builder with `nodes` only). */
  node?: string;
  /** An image split over builder nodes: platform -> the node that built it (then no `node`). */
  nodes?: Record<string, string>;
}

export type BuildEvent =
  | { type: "queued"; image: string; dependsOn: string[] }
  | { type: "start"; image: string; node?: string }
  /** A builder node is down (before the start, or found so when a build on it failed: `image` then moves). */
  | { type: "node-down"; node: string; reason: string; image?: string }
  | { type: "step"; image: string; step: string }
  | { type: "log"; image: string; line: string }
  | { type: "warning"; image: string; message: string }
  | { type: "done"; image: string; result: ImageResult }
  | { type: "failed"; image: string; error: Error }
  | { type: "skipped"; image: string; because: string }
  | { type: "cancelled"; image: string };
