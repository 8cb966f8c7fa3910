/**
 * The built-in flavors, listed explicitly: no registration as a side effect of importing.
 * Each import is the light flavor module (name + config schema); builders load lazily.
 */
import buildah from "../../flavors/buildah.ts";
import docker from "../../flavors/docker.ts";
import oci from "../../flavors/oci/flavor.ts";
import podman from "../../flavors/podman.ts";
import type { AnyFlavor } from "../builder/flavor.ts";

export const builtinFlavors: readonly AnyFlavor[] = [docker, podman, buildah, oci];
