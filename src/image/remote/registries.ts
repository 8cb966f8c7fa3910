/**
 * Registry access for one build: a client per host with the right transport and credentials,
 * and a blob cache on disk. Credentials: the stack's registry credentials for its own host,
 * else a docker config.json login (`docker_config`, DOCKER_CONFIG, ~/.docker). Plain HTTP for
 * loopback hosts, the stack registry when marked insecure, and `insecure_registries`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ContainerRegistry, RegistryCredentials } from "../../builder/container_registry.ts";
import { RegistryClient } from "./client.ts";
import { registryHost, sameHost } from "../name.ts";
import { defaultDockerConfigPath, dockerConfigCredentials } from "./docker_config.ts";

export interface RegistriesOptions {
  registry?: ContainerRegistry;
  dockerConfig?: string;
  insecureRegistries: readonly string[];
  signal: AbortSignal;
  log(line: string): void;
  /** Directory for downloaded blobs (removed with the build's temp dir). */
  blobDir: string;
}

/** Where a blob can be fetched from when it is not on disk. */
export interface RemoteBlob {
  host: string;
  repository: string;
}

export class Registries {
  private readonly clients = new Map<string, RegistryClient>();
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(private readonly options: RegistriesOptions) {}

  client(host: string): RegistryClient {
    let client = this.clients.get(host);
    if (!client) {
      const { registry } = this.options;
      const own = registry !== undefined && sameHost(registryHost(registry), host);
      const insecure = (own && registry.insecure) || this.options.insecureRegistries.includes(host);
      const credentials = own && registry.credentials ? registry.credentials : this.configCredentials(host);
      client = new RegistryClient(host, { insecure, signal: this.options.signal, ...(credentials ? { credentials } : {}) });
      this.clients.set(host, client);
    }
    return client;
  }

  /** A local file with the blob, downloaded once per build. */
  blobFile(digest: string, remote: RemoteBlob): Promise<string> {
    let pending = this.downloads.get(digest);
    if (!pending) {
      const path = join(this.options.blobDir, digest.replace(":", "-"));
      pending = existsSync(path)
        ? Promise.resolve(path)
        : this.client(remote.host)
            .blobToFile(remote.repository, digest, path)
            .then(() => path);
      this.downloads.set(digest, pending);
      pending.catch(() => this.downloads.delete(digest));
    }
    return pending;
  }

  private configCredentials(host: string): RegistryCredentials | undefined {
    const path = this.options.dockerConfig ?? defaultDockerConfigPath();
    const found = dockerConfigCredentials(path, host);
    if (found.note) this.options.log(`note: ${found.note}`);
    return found.credentials;
  }
}
