/**
 * podman --remote cannot forward ssh: the service runs the build and never receives the client's
 * agent socket, so a `RUN --mount=type=ssh` step fails far from its cause (seen with podman 4 on
 * this machine: the step finds no socket). Refused at the `ssh` key instead. Secrets work remotely:
 * the client sends the files.
 */
import type { StaticImage } from "../../src/builder/flavor.ts";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import { InputError } from "../../src/errors.ts";

interface RemoteSetting {
  url?: string;
  connection?: string;
}

const HINT = "build with a local podman (no url/connection), or with the buildah or docker flavor";

const isRemote = (config: RemoteSetting) => config.url !== undefined || config.connection !== undefined;

export function remoteSshErrors(config: RemoteSetting, image: StaticImage): InputError[] {
  if (!isRemote(config) || !image.ssh?.length) return [];
  return [new InputError("build.ssh-unsupported", `The podman flavor with a podman service (url/connection) cannot forward SSH (image '${image.name}' sets 'ssh'): the service never gets the client's agent`, { location: { path: `/images/${image.name}/ssh` }, hint: HINT })];
}

export function refuseRemoteSsh(config: RemoteSetting, options: BuildOptions): void {
  if (!isRemote(config) || !options.ssh?.length) return;
  throw new InputError("build.ssh-unsupported", "The podman flavor with a podman service (url/connection) cannot forward SSH: the service never gets the client's agent", { hint: HINT });
}
