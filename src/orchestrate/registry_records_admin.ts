/**
 * Housekeeping of the registry's build records (registry_record.ts) over the distribution API:
 * list the record tags of a stack's repositories, delete orphaned ones by digest (the record,
 * then the image only it kept).
 */
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { InputError, RuntimeError } from "../errors.ts";
import { inRegistry, targetRepository } from "../image/name.ts";
import { sha256 } from "../image/image.ts";
import { registryClient, type RegistryClient } from "../image/remote/client.ts";
import { containerRegistry } from "../stack/credentials.ts";
import type { ResolvedStack } from "../stack/model.ts";
import { isRecordTag } from "./registry_record.ts";
import { parseRecord } from "./_record_document.ts";
import { selectImages } from "./run_build.ts";

export interface RecordRow {
  /** `host/path`, as the stack pushes to it. */
  repository: string;
  tag: string;
  /** The recorded image. */
  digest: string;
  /** The record's own manifest when it is a record index; absent for an old record (the tag on the image itself). */
  recordDigest?: string;
  /** The other (non-record) tags pointing at the same digest. */
  otherTags: string[];
}

function stackRegistry(stack: ResolvedStack, env: Record<string, string | undefined>): ContainerRegistry {
  if (!stack.containerRegistry) throw new InputError("reuse.no-registry", `Stack '${stack.file}' has no container_registry: there are no registry records`, { hint: "build records live in the registry images are pushed to" });
  return containerRegistry(stack.containerRegistry, env);
}

export async function listRecords(stack: ResolvedStack, images: readonly string[], env: Record<string, string | undefined>, signal: AbortSignal): Promise<RecordRow[]> {
  const registry = stackRegistry(stack, env);
  const client = registryClient(registry, signal);
  const repositories = [...new Set(selectImages(stack, images).map((n) => targetRepository(registry, n)))];
  const rows: RecordRow[] = [];
  for (const repository of repositories) {
    const repo = inRegistry(registry, repository)!.repository;
    const tags = await client.tagsList(repo);
    const digests = new Map<string, string>();
    for (const tag of tags.filter((t) => !isRecordTag(t))) {
      const d = (await client.manifestHead(repo, tag))?.digest;
      if (d) digests.set(tag, d);
    }
    for (const tag of tags.filter(isRecordTag).sort()) {
      const record = await readRecord(client, repo, tag);
      if (!record) continue; // removed meanwhile
      const otherTags = tags.filter((t) => !isRecordTag(t) && digests.get(t) === record.digest);
      rows.push({ repository, tag, ...record, otherTags });
    }
  }
  return rows;
}

export async function pruneRecord(stack: ResolvedStack, row: RecordRow, env: Record<string, string | undefined>, signal: AbortSignal): Promise<void> {
  const registry = stackRegistry(stack, env);
  const client = registryClient(registry, signal);
  const repo = inRegistry(registry, row.repository)!.repository;
  try {
    if (row.recordDigest) await client.manifestDelete(repo, row.recordDigest);
    await client.manifestDelete(repo, row.digest).catch((e: unknown) => {
      // Another record of the same image deleted it already.
      if (!(row.recordDigest && e instanceof RuntimeError && e.code === "registry.not-found")) throw e;
    });
  } catch (e) {
    if (e instanceof RuntimeError && /HTTP 405/.test(e.message)) {
      throw new RuntimeError("reuse.delete-disabled", `Registry ${registry.uri} does not allow deleting ${row.repository}@${row.digest}: ${e.message}`, {
        cause: e,
        hint: "the registry has deletion disabled (docker-registry: storage.delete.enabled: true); nothing was deleted, the records stay valid",
      });
    }
    throw e;
  }
}

/** The image a record tag names (and the record's own digest for a record index); undefined when the tag is gone. */
async function readRecord(client: RegistryClient, repo: string, tag: string): Promise<{ digest: string; recordDigest?: string } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = (await client.manifestGet(repo, tag)).bytes;
  } catch (e) {
    if (e instanceof RuntimeError && e.code === "registry.not-found") return undefined;
    throw e;
  }
  const record = parseRecord(bytes);
  return record.kind === "image" ? { digest: sha256(bytes) } : { digest: record.kind === "record" ? record.image.digest : record.digest, recordDigest: sha256(bytes) };
}
