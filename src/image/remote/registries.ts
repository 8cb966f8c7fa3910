/**
 * Registry access for one build: a client per host with the right transport and credentials,
 * and a blob cache on disk. Credentials: the stack's registry credentials for its own host,
 * else the user's keychain (keychain.ts: `docker_config` or DOCKER_CONFIG or ~/.docker, its
 * credential helpers, then the containers auth.json). Plain HTTP for
 * loopback hosts, the stack registry when marked insecure, and `insecure_registries`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ContainerRegistry } from "../../builder/container_registry.ts";
import { RegistryClient } from "./client.ts";
import { registryHost, sameHost } from "../name.ts";
import { userKeychain, type Keychain } from "./keychain.ts";

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
  private readonly keychain: Keychain;

  constructor(private readonly options: RegistriesOptions) {
    const hide = options.registry?.credentials ? [options.registry.credentials.password] : [];
    this.keychain = userKeychain({ signal: options.signal, hide, ...(options.dockerConfig ? { dockerConfig: options.dockerConfig } : {}) });
  }

  client(host: string): RegistryClient {
    let client = this.clients.get(host);
    if (!client) {
      const { registry } = this.options;
      const own = registry !== undefined && sameHost(registryHost(registry), host);
      const insecure = (own && registry.insecure) || this.options.insecureRegistries.includes(host);
      const auth = own && registry.credentials ? { credentials: registry.credentials } : { keychain: this.keychain };
      client = new RegistryClient(host, { insecure, signal: this.options.signal, ...auth });
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
}
