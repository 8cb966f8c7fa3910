/**
 * imgb's embedded store (bun:sqlite): registered flavors, build records (for reuse) and
 * content hashes of context files (a stat cache). One file,
 * `imgb.db`, in $IMGB_HOME, else $XDG_DATA_HOME/imgb, else ~/.local/share/imgb. Writes are short
 * IMMEDIATE transactions and every connection waits on a busy timeout, so two imgb processes at
 * once are safe. The rollback journal (not WAL) is deliberate: a WAL database cannot be read
 * from a read-only location (readers must create the -shm file), and imgb runs in read-only
 * containers.
 */
import { Database, type Statement } from "bun:sqlite";
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { RuntimeError } from "../errors.ts";
import { storeError } from "./_errors.ts";

export interface FlavorRecord {
  name: string;
  /** Absolute path of the flavor's source file. */
  source: string;
  /** sha256 of the source file when it was registered. */
  sha256: string;
  /** The config schema as JSON (for listing and describing without importing the file). */
  schema: string;
  description: string;
  registeredAt: string;
}

/** A build imgb made: what an image checksum was built into. */
export interface BuildRecord {
  checksum: string;
  image: string;
  ref: string;
  digest?: string;
  imageId?: string;
  builtAt: string;
}

/** Content hash of a file as last seen, keyed by what changes when the file does. */
export interface FileHashRecord {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeNs: string;
  /** ctime too: a rewrite that puts the mtime back (touch -r, tar -x, rsync -t) still moves it. */
  ctimeNs: string;
  sha256: string;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS flavors (
     name TEXT PRIMARY KEY, source TEXT NOT NULL, sha256 TEXT NOT NULL,
     schema TEXT NOT NULL, description TEXT NOT NULL, registered_at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS builds (
     checksum TEXT PRIMARY KEY, image TEXT NOT NULL, ref TEXT NOT NULL,
     digest TEXT, image_id TEXT, built_at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS file_hashes (
     path TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL,
     mtime_ns TEXT NOT NULL, sha256 TEXT NOT NULL)`,
];

/** Columns added after a table was first created: (table, column, definition). Old rows get the default. */
const ADDED_COLUMNS: readonly [string, string, string][] = [
  // '' matches no real ctime, so records from before it are hashed again once.
  ["file_hashes", "ctime_ns", "TEXT NOT NULL DEFAULT ''"],
];

function addMissingColumns(db: Database): void {
  for (const [table, column, definition] of ADDED_COLUMNS) {
    const columns = db.query<{ name: string }, []>(`PRAGMA table_info(${table})`).all();
    if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
}

/** Where the store lives, or why there is none (HOME unset and no IMGB_HOME/XDG_DATA_HOME). */
export function storeDir(env: Record<string, string | undefined>): string | undefined {
  if (env.IMGB_HOME) return env.IMGB_HOME;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, "imgb");
  if (env.HOME) return join(env.HOME, ".local", "share", "imgb");
  return undefined;
}

function createSchema(db: Database): void {
  for (const s of SCHEMA) db.exec(s);
  addMissingColumns(db);
}

/** Paths a `fileHashes` query takes. */
export const FETCH_PATHS = 256;

function hashRecord(r: Record<string, string | number>): FileHashRecord {
  return { path: String(r.path), dev: Number(r.dev), ino: Number(r.ino), size: Number(r.size), mtimeNs: String(r.mtime_ns), ctimeNs: String(r.ctime_ns ?? ""), sha256: String(r.sha256) };
}

export class Store {
  readonly path: string;
  /** Undefined until the first write when opened with `deferCreate` and there was no store yet. */
  #connection: Database | undefined;
  /** The tables still need creating (a store created at its first write). */
  #needsSchema = false;
  /** fileHashes' statement (FETCH_PATHS parameters), prepared once. */
  #fetch: Statement<Record<string, string | number>, string[]> | undefined;

  private constructor(path: string, db: Database | undefined) {
    this.path = path;
    this.#connection = db;
    this.#needsSchema = db === undefined;
  }

  /** The connection, made now (creating the file) if it was deferred; the tables not created yet. */
  #connect(): Database {
    if (!this.#connection) {
      const db = new Database(this.path, { create: true, readwrite: true });
      db.exec("PRAGMA busy_timeout = 10000");
      this.#connection = db;
    }
    return this.#connection;
  }

  /** The connection, with its tables (created in the transaction under way, if there is one). */
  get #db(): Database {
    const db = this.#connect();
    if (this.#needsSchema) {
      if (db.inTransaction) createSchema(db);
      else db.transaction(() => createSchema(db))();
      this.#needsSchema = false;
    }
    return db;
  }

  /** A deferred store not created yet: every read finds nothing. */
  get #absent(): boolean {
    return this.#connection === undefined;
  }

  /**
   * Opens (creating if needed) the store; a clear RuntimeError when it cannot be. `deferCreate`:
   * a store that does not exist yet is created at the first write, its tables in that write's
   * transaction (one commit, not two: a fresh machine's build pays a commit's fsyncs once), and
   * reads find nothing until then. The directory is made and checked for writing now either way.
   */
  static open(env: Record<string, string | undefined>, options: { readonly?: boolean; deferCreate?: boolean } = {}): Store {
    const dir = storeDir(env);
    if (!dir) {
      throw new RuntimeError("store.unavailable", "No place for imgb's store: HOME, XDG_DATA_HOME and IMGB_HOME are all unset", {
        hint: "set IMGB_HOME to a writable directory",
      });
    }
    const path = join(dir, "imgb.db");
    const doing = options.readonly ? "read it" : "write to it";
    let db: Database | undefined;
    try {
      if (!options.readonly) {
        mkdirSync(dir, { recursive: true });
        // SQLite opens a file it cannot write read-only without a word and fails only at the
        // first write; ask the file system first (EROFS holds for root too). The rollback
        // journal is created beside the database, so the directory must be writable as well.
        accessSync(dir, constants.W_OK);
        if (existsSync(path)) accessSync(path, constants.W_OK);
        else if (options.deferCreate) return new Store(path, undefined);
      }
      db = new Database(path, options.readonly ? { readonly: true } : { create: true, readwrite: true });
      db.exec("PRAGMA busy_timeout = 10000");
      if (!options.readonly) {
        // One transaction: a new store costs one commit (its fsyncs), not one per statement.
        const fresh = db;
        fresh.transaction(() => createSchema(fresh))();
      }
      return new Store(path, db);
    } catch (e) {
      db?.close();
      const mapped = storeError(e, path, doing);
      if (mapped !== e) throw mapped;
      throw new RuntimeError("store.open", `Cannot open imgb's store '${path}': ${(e as Error).message}`, {
        hint: "set IMGB_HOME to a writable directory",
        cause: e,
      });
    }
  }

  /** Runs one store operation; SQLite's failures become RuntimeErrors that say what to do. */
  #run<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw storeError(e, this.path, doing);
    }
  }

  /** Opens the store for reading when it exists; undefined when there is none yet or no place for it. */
  static openIfExists(env: Record<string, string | undefined>): Store | undefined {
    const dir = storeDir(env);
    if (!dir) return undefined;
    if (!Bun.file(join(dir, "imgb.db")).size) return undefined;
    return Store.open(env, { readonly: true });
  }

  listFlavors(): FlavorRecord[] {
    if (this.#absent) return [];
    return this.#run("list the registered flavors", () => {
      try {
        return this.#db
          .query<Record<string, string>, []>("SELECT name, source, sha256, schema, description, registered_at FROM flavors ORDER BY name")
          .all()
          .map((r) => ({ name: r.name!, source: r.source!, sha256: r.sha256!, schema: r.schema!, description: r.description!, registeredAt: r.registered_at! }));
      } catch (e) {
        if (/no such table/.test((e as Error).message)) return [];
        throw e;
      }
    });
  }

  getFlavor(name: string): FlavorRecord | undefined {
    return this.listFlavors().find((f) => f.name === name);
  }

  /**
   * Inserts or replaces a flavor record atomically. `check` runs inside the transaction with the
   * current record of that name, so "already registered from elsewhere" is decided race-free.
   */
  putFlavor(record: FlavorRecord, check?: (existing: FlavorRecord | undefined) => void): void {
    this.#run("register the flavor", () => {
      const tx = this.#db.transaction(() => {
        check?.(this.getFlavor(record.name));
        this.#db
          .query(
            `INSERT INTO flavors (name, source, sha256, schema, description, registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(name) DO UPDATE SET source = ?2, sha256 = ?3, schema = ?4, description = ?5, registered_at = ?6`,
          )
          .run(record.name, record.source, record.sha256, record.schema, record.description, record.registeredAt);
      });
      tx.immediate();
    });
  }

  removeFlavor(name: string): boolean {
    return this.#run("remove the flavor", () => this.#db.query("DELETE FROM flavors WHERE name = ?1").run(name).changes > 0);
  }

  getBuild(checksum: string): BuildRecord | undefined {
    if (this.#absent) return undefined;
    return this.#run("look up earlier builds", () => {
      const r = this.#db.query<Record<string, string | null>, [string]>("SELECT * FROM builds WHERE checksum = ?1").get(checksum);
      if (!r) return undefined;
      const rec: BuildRecord = { checksum: r.checksum!, image: r.image!, ref: r.ref!, builtAt: r.built_at! };
      if (r.digest) rec.digest = r.digest;
      if (r.image_id) rec.imageId = r.image_id;
      return rec;
    });
  }

  putBuild(r: BuildRecord): void {
    this.#run("record the build", () => {
      this.#db
        .query("INSERT OR REPLACE INTO builds (checksum, image, ref, digest, image_id, built_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .run(r.checksum, r.image, r.ref, r.digest ?? null, r.imageId ?? null, r.builtAt);
    });
  }

  /** Runs `fn` in one transaction: the writes inside (transactions themselves, then savepoints) cost one commit. */
  batch(fn: () => void): void {
    this.#run("update the store", () => {
      const db = this.#connect();
      const needed = this.#needsSchema;
      try {
        db.transaction(() => {
          void this.#db; // a deferred store's tables: in this commit
          fn();
        }).immediate();
      } catch (e) {
        this.#needsSchema = needed; // rolled back with the rest
        throw e;
      }
    });
  }

  /** Records and deletions (`{checksum}` alone) of builds, in one transaction. */
  putBuilds(changes: readonly (BuildRecord | { checksum: string })[]): void {
    if (!changes.length) return;
    this.#run("record the builds", () => {
      const put = this.#db.query("INSERT OR REPLACE INTO builds (checksum, image, ref, digest, image_id, built_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      const del = this.#db.query("DELETE FROM builds WHERE checksum = ?1");
      this.#db.transaction(() => {
        for (const r of changes) {
          if ("ref" in r) put.run(r.checksum, r.image, r.ref, r.digest ?? null, r.imageId ?? null, r.builtAt);
          else del.run(r.checksum);
        }
      }).immediate();
    });
  }

  deleteBuild(checksum: string): void {
    this.#run("forget the build", () => {
      this.#db.query("DELETE FROM builds WHERE checksum = ?1").run(checksum);
    });
  }

  /** The hash recorded for `path`, if any (its primary key: one indexed lookup). */
  fileHash(path: string): FileHashRecord | undefined {
    if (this.#absent) return undefined;
    return this.#run("read the file hash cache", () => {
      const r = this.#db.query<Record<string, string | number>, [string]>("SELECT * FROM file_hashes WHERE path = ?1").get(path);
      return r ? hashRecord(r) : undefined;
    });
  }

  /** The hashes recorded for `paths` (up to FETCH_PATHS: one query), by path; paths without one are absent. */
  fileHashes(paths: readonly string[]): Map<string, FileHashRecord> {
    const out = new Map<string, FileHashRecord>();
    if (this.#absent || paths.length === 0) return out;
    if (paths.length > FETCH_PATHS) throw new RangeError(`fileHashes: at most ${FETCH_PATHS} paths a query`);
    return this.#run("read the file hash cache", () => {
      // One statement for every batch: the paths left are "", which no record has.
      this.#fetch ??= this.#db.query<Record<string, string | number>, string[]>(`SELECT * FROM file_hashes WHERE path IN (${Array.from({ length: FETCH_PATHS }, (_, i) => `?${i + 1}`).join(",")})`);
      const args = paths.length === FETCH_PATHS ? (paths as string[]) : [...paths, ...new Array<string>(FETCH_PATHS - paths.length).fill("")];
      for (const r of this.#fetch.all(...args)) out.set(String(r.path), hashRecord(r));
      return out;
    });
  }

  putFileHashes(records: readonly FileHashRecord[]): void {
    this.#run("update the file hash cache", () => {
      if (!records.length) return;
      const q = this.#db.query("INSERT OR REPLACE INTO file_hashes (path, dev, ino, size, mtime_ns, ctime_ns, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      this.#db.transaction(() => {
        for (const r of records) q.run(r.path, r.dev, r.ino, r.size, r.mtimeNs, r.ctimeNs, r.sha256);
      }).immediate();
    });
  }

  close(): void {
    this.#connection?.close();
  }
}
