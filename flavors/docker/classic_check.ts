/** What the classic docker builder refuses before any build: it has no RUN --mount (secrets, ssh). */
import type { StaticImage } from "../../src/builder/flavor.ts";
import { InputError } from "../../src/errors.ts";

export function classicMountErrors(image: StaticImage): InputError[] {
  const out: InputError[] = [];
  for (const [key, what] of [["secrets", "build secrets"], ["ssh", "SSH forwarding"]] as const) {
    if (!image[key]?.length) continue;
    out.push(new InputError(`build.${key}-unsupported`, `The docker flavor with builder: classic cannot give RUN steps ${what} (image '${image.name}' sets '${key}'): the classic builder has no RUN --mount`, {
      location: { path: `/images/${image.name}/${key}` },
      hint: "use builder: buildkit (the default), or the podman or buildah flavor",
    }));
  }
  return out;
}
