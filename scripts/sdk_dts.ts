#!/usr/bin/env bun
/**
 * imgb.d.ts: the SDK's declarations (everything `import … from "imgb"` gives) in one file, so a
 * flavor author's editor and `tsc` type-check against the binary they downloaded, with no
 * node_modules. `bun scripts/sdk_dts.ts [OUT]` writes it (default: dist/imgb.d.ts); the build
 * embeds it in the binary, `imgb flavor init` writes it beside a new flavor.
 *
 * How: the TypeScript compiler emits src/sdk.ts's declarations file by file (in memory); every
 * declaration file reachable from it, and TypeBox's own (the SDK re-exports `Type`), becomes one
 * ambient `declare module "…" { … }` block with its relative imports rewritten to those blocks'
 * names. The SDK itself is `declare module "imgb"`, TypeBox's entry `declare module
 * "@sinclair/typebox"` (flavor files may import either). A tsconfig `paths` entry pointing
 * `imgb` at this file brings it into the program; ambient modules then resolve both names.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const root = resolve(import.meta.dir, "..");
const TYPEBOX_DIR = join(root, "node_modules/@sinclair/typebox/build/cjs");
const INTERNAL = "imgb/internal";

/**
 * A few types of Bun's and Node's that the SDK's signatures name (an archive sink, a kill
 * signal), declared structurally: a flavor author's project has neither @types/bun nor
 * @types/node, and a real FileSink or Node stream is still assignable to these. A name missing
 * here fails `tsc` on imgb.d.ts (test/cli/flavor_init.e2e.test.ts checks it without skipLibCheck).
 */
const SHIMS = {
  bun: {
    name: `${INTERNAL}/shims/bun`,
    text: `export interface FileSink {
  write(chunk: string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer): number | Promise<number>;
  flush(): number | Promise<number>;
  end(error?: Error): number | Promise<number>;
}`,
  },
  node: {
    name: `${INTERNAL}/shims/node`,
    text: `export interface WritableStream {
  writable: boolean;
  write(chunk: Uint8Array | string, callback?: (error?: Error | null) => void): boolean;
  end(callback?: () => void): unknown;
}
/** A signal name, e.g. "SIGTERM". */
export type Signals = \`SIG\${string}\`;`,
  },
} as const;

/**
 * Emits declarations of src/sdk.ts and what it imports, file by file as the bundle asks for
 * them (in memory): type-checking only those, not the whole program, keeps `bun run build` fast.
 */
function declarationEmitter(): (sourcePath: string) => string {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (!config) throw new Error("sdk_dts: cannot read tsconfig.json");
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    outDir: join(root, ".sdk-dts"),
    rootDir: root,
    noEmitOnError: false,
  };
  const program = ts.createProgram([join(root, "src/sdk.ts")], options);
  return (sourcePath) => {
    const source = program.getSourceFile(sourcePath);
    if (!source) throw new Error(`sdk_dts: ${relative(root, sourcePath)} is not part of the SDK's program`);
    let text: string | undefined;
    const result = program.emit(source, (file, out) => {
      if (file.endsWith(".d.ts")) text = out;
    }, undefined, true);
    const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length || text === undefined) {
      throw new Error(`sdk_dts: declaration emit of ${relative(root, sourcePath)} failed:\n${ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" })}`);
    }
    return text;
  };
}

interface Unit {
  /** The ambient module name this file becomes. */
  name: string;
  text: string;
}

/** A relative specifier of a declaration file, resolved to the declaration file it means. */
function resolveDts(from: string, specifier: string, available: (path: string) => boolean): string {
  const base = resolve(dirname(from), specifier);
  const stem = base.replace(/\.(d\.)?[mc]?[tj]s$/, "");
  for (const candidate of [`${stem}.d.ts`, `${stem}.d.mts`, join(base, "index.d.ts")]) if (available(candidate)) return candidate;
  throw new Error(`sdk_dts: '${specifier}' imported by ${relative(root, from)} has no declaration file`);
}

function moduleName(path: string): string {
  if (path === join(root, "src/sdk.d.ts")) return "imgb";
  if (path.startsWith(TYPEBOX_DIR)) return `${INTERNAL}/typebox/${relative(TYPEBOX_DIR, path).replace(/\.d\.m?ts$/, "")}`;
  return `${INTERNAL}/${relative(root, path).replace(/\.d\.m?ts$/, "")}`;
}

/**
 * One declaration file as the body of an ambient module: module specifiers made absolute
 * (relative ones are not allowed there), `declare` dropped from top-level statements (the block
 * is already ambient), triple-slash references and source map comments dropped.
 */
function toAmbientBody(path: string, text: string, specifierFor: (spec: string) => string): string {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const edits: { start: number; end: number; text: string }[] = [];
  const visit = (node: ts.Node): void => {
    let spec: ts.Expression | undefined;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) spec = node.moduleSpecifier;
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) spec = node.argument.literal;
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) spec = node.moduleReference.expression;
    if (spec && ts.isStringLiteral(spec)) edits.push({ start: spec.getStart(sf), end: spec.getEnd(), text: JSON.stringify(specifierFor(spec.text)) });
    // `NodeJS.X` (a global namespace of @types/node) -> the shim's X.
    if (ts.isQualifiedName(node) && ts.isIdentifier(node.left) && node.left.text === "NodeJS") {
      edits.push({ start: node.left.getStart(sf), end: node.left.getEnd(), text: `import(${JSON.stringify(SHIMS.node.name)})` });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (const statement of sf.statements) {
    if (ts.isModuleDeclaration(statement) && statement.name.kind === ts.SyntaxKind.Identifier && statement.name.text === "global") continue;
    const declare = ts.canHaveModifiers(statement) ? ts.getModifiers(statement)?.find((m) => m.kind === ts.SyntaxKind.DeclareKeyword) : undefined;
    if (declare) edits.push({ start: declare.getStart(sf), end: declare.getEnd() + 1, text: "" });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out
    .split("\n")
    .filter((line) => !/^\/\/\/\s*<reference\b/.test(line) && !/^\/\/# sourceMappingURL=/.test(line))
    .join("\n")
    .trim();
}

/**
 * The whole imgb.d.ts. Building the compiler's program takes seconds, so the result is kept in
 * dist/.sdk-dts/, under a hash of everything it is made from (imgb's sources, the tsconfig, the
 * lockfile, this script): a build with unchanged sources reuses it.
 */
export function sdkDeclarations(): string {
  const key = inputsHash();
  const cached = join(root, "dist/.sdk-dts", `${key}.d.ts`);
  if (existsSync(cached)) return readFileSync(cached, "utf8");
  const text = generate();
  rmSync(dirname(cached), { recursive: true, force: true });
  mkdirSync(dirname(cached), { recursive: true });
  writeFileSync(cached, text);
  return text;
}

function inputsHash(): string {
  const hasher = new Bun.CryptoHasher("sha256");
  const files = ["tsconfig.json", "package-lock.json", "scripts/sdk_dts.ts", ...new Bun.Glob("{src,flavors}/**/*.ts").scanSync(root)]
    .filter((f) => !f.endsWith(".test.ts"))
    .sort();
  for (const f of files) hasher.update(`${f}\0`).update(readFileSync(join(root, f))).update("\0");
  hasher.update(ts.version);
  return hasher.digest("hex").slice(0, 32);
}

function generate(): string {
  const emit = declarationEmitter();
  // imgb's own files are .ts sources, emitted on demand (at their .d.ts path); TypeBox ships its .d.ts.
  const read = (path: string): string => (path.startsWith(TYPEBOX_DIR) ? readFileSync(path, "utf8") : emit(path.replace(/\.d\.ts$/, ".ts")));
  const available = (path: string) => existsSync(path.startsWith(TYPEBOX_DIR) ? path : path.replace(/\.d\.ts$/, ".ts"));
  const units: Unit[] = [];
  const seen = new Set<string>();
  const queue = [join(root, "src/sdk.d.ts")];
  const bare = new Set<string>();
  while (queue.length) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const body = toAmbientBody(path, read(path), (spec) => {
      if (spec.startsWith(".")) {
        const target = resolveDts(path, spec, available);
        queue.push(target);
        return moduleName(target);
      }
      if (spec === "bun") return SHIMS.bun.name;
      if (spec === "@sinclair/typebox") {
        queue.push(join(TYPEBOX_DIR, "index.d.ts"));
        return moduleName(join(TYPEBOX_DIR, "index.d.ts"));
      }
      bare.add(`${spec} (in ${relative(root, path)})`);
      return spec;
    });
    units.push({ name: moduleName(path), text: body });
  }
  if (bare.size) throw new Error(`sdk_dts: the SDK's declarations import packages a flavor author does not have: ${[...bare].join(", ")}`);
  const header = [
    "// imgb.d.ts — the declarations of the module `imgb` (the SDK a custom flavor imports) and of",
    "// `@sinclair/typebox` as the imgb binary serves it. Generated by imgb's scripts/sdk_dts.ts; do",
    "// not edit. Point TypeScript at it with tsconfig.json: \"paths\": { \"imgb\": [\"./imgb.d.ts\"] }.",
    `// The TypeBox declarations are TypeBox's (MIT License), ${typeboxCopyright()}.`,
    "",
  ];
  // Not indented: a line break inside a template literal type would change its meaning.
  const blocks = units.map((u) => `declare module ${JSON.stringify(u.name)} {\n${u.text}\n}\n`);
  for (const shim of Object.values(SHIMS)) blocks.push(`declare module ${JSON.stringify(shim.name)} {\n${shim.text}\n}\n`);
  blocks.push(`declare module "@sinclair/typebox" {\n  export * from ${JSON.stringify(moduleName(join(TYPEBOX_DIR, "index.d.ts")))};\n}\n`);
  return header.join("\n") + blocks.join("\n");
}

function typeboxCopyright(): string {
  const license = readFileSync(join(TYPEBOX_DIR, "../../license"), "utf8");
  const line = /^Copyright .*$/m.exec(license)?.[0];
  if (!line) throw new Error("sdk_dts: no Copyright line in TypeBox's license file");
  return line;
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? join(root, "dist/imgb.d.ts"));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, sdkDeclarations());
  process.stderr.write(`sdk_dts: wrote ${relative(process.cwd(), out)}\n`);
}
