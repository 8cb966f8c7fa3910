/**
 * The stack file's schema, in TypeBox. It is the single source for validation, `imgb schema`
 * (JSON Schema for editors) and the docs: add a field here and it appears everywhere.
 * Keys are snake_case like ZenML's stack components; unknown keys are rejected everywhere, except
 * compose's `x-*` extension keys, which are dropped before validation (normalize.ts).
 */
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { IMAGE_NAME_PATTERN, REGISTRY_URI_PATTERN } from "./names.ts";

export { IMAGE_NAME_PATTERN };

const strict = { additionalProperties: false } as const;

/** Docker tag grammar. */
export const TAG_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";
/** Build arg / env var name. */
const ARG_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";

const ScalarString = Type.Union([Type.String(), Type.Number(), Type.Boolean()], {
  description: "A string; numbers and booleans are converted to their YAML text.",
  errorMessage: "Expected a string, number or boolean",
});

/** The file loader turns `0755`, `0o755` and `"0755"` into the number before validation (file_mode.ts); editors see either form. */
// The integer bound is for editors: a YAML 1.2 reader sees `0777` as decimal 777. imgb itself has
// refused decimal literals and modes over 0o777 before the schema runs.
const FileMode = Type.Union([Type.Integer({ minimum: 0, maximum: 777 }), Type.String({ pattern: "^0o?[0-7]{1,3}$" })], {
  description: "Permission bits in octal: 0755, 0o755 or \"0755\" (a plain 755 is decimal and refused). Default 0644.",
});

export const ExtraFileSchema = Type.Union(
  [
    Type.Object(
      {
        content: Type.String({ description: "File content (UTF-8)." }),
        mode: Type.Optional(FileMode),
      },
      strict,
    ),
    Type.Object(
      {
        source: Type.String({ minLength: 1, description: "A file or directory on disk, relative to the stack file." }),
        mode: Type.Optional(FileMode),
      },
      strict,
    ),
  ],
  {
    description: "A file added to the build context: inline `content`, or a `source` path. Never guessed.",
    errorMessage: "Expected an extra file: either {content: TEXT} or {source: PATH}, with an optional mode",
  },
);

/** A secret's or an ssh forward's id, as `RUN --mount=type=secret,id=ID` names it. */
const MOUNT_ID_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]*$";

export const SecretSchema = Type.Union(
  [
    Type.Object({ file: Type.String({ minLength: 1, description: "File holding the secret, relative to the stack file." }) }, strict),
    Type.Object({ env: Type.String({ pattern: ARG_NAME_PATTERN, description: "Environment variable holding the secret (read when the build starts)." }) }, strict),
  ],
  {
    description: "Where a build secret's value comes from: a file or an environment variable. The value itself never appears in the stack file.",
    errorMessage: "Expected a secret: either {file: PATH} or {env: VARIABLE}",
  },
);

export const SecretsSchema = Type.Record(Type.String({ pattern: MOUNT_ID_PATTERN }), SecretSchema, {
  additionalProperties: false,
  description: "Build secrets by id, read by `RUN --mount=type=secret,id=ID` (--secret). Only the ids enter the checksum: a new value does not rebuild.",
});

export const SshSchema = Type.Union(
  [
    Type.Array(Type.String({ pattern: MOUNT_ID_PATTERN }), { uniqueItems: true, description: "Ids that forward the agent of $SSH_AUTH_SOCK, e.g. [default]." }),
    Type.Record(Type.String({ pattern: MOUNT_ID_PATTERN }), Type.String({ minLength: 1, description: "An ssh-agent socket or a private key file, relative to the stack file." }), { additionalProperties: false }),
  ],
  {
    description: "SSH agent forwarding for `RUN --mount=type=ssh[,id=ID]` (--ssh): [default] forwards $SSH_AUTH_SOCK; {ID: PATH} a socket or key file per id.",
    errorMessage: "Expected ssh: a list of ids ([default]) or {ID: PATH_TO_SOCKET_OR_KEY}",
  },
);

/** A matrix variable's name, as `${matrix.NAME}` writes it. */
export const MATRIX_VARIABLE_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";
/** A named build context's name, as `COPY --from=NAME` and `FROM NAME` write it. */
export const CONTEXT_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]*$";

/** bake's `inherits`, `matrix` and `name`: how one definition becomes images (expand.ts). Not inherited themselves. */
export const InheritsSchema = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true })], {
  description: "Images of this stack whose keys this one starts from, in order (bake's inherits): later ones and this image's own keys win; mappings (build_args, labels, annotations, extra_files, secrets, contexts) are merged entry by entry, lists and other values replaced.",
  errorMessage: "Expected an image name or a list of image names",
});

export const MatrixSchema = Type.Record(
  Type.String({ pattern: MATRIX_VARIABLE_PATTERN }),
  Type.Array(ScalarString, { minItems: 1, uniqueItems: true }),
  {
    additionalProperties: false,
    minProperties: 1,
    description: "Build this definition once per combination of these variables' values (bake's matrix), e.g. { py: ['3.11', '3.12'] }; `${matrix.py}` in any value is the combination's value. Each image is named by `name`, else IMAGE-VALUE[-VALUE…].",
  },
);

export const ImageSchema = Type.Object(
  {
    inherits: Type.Optional(InheritsSchema),
    matrix: Type.Optional(MatrixSchema),
    name: Type.Optional(Type.String({ minLength: 1, description: "With matrix: the name of each image it makes, e.g. app-py${matrix.py}; the names must differ. Default: IMAGE-VALUE[-VALUE…]." })),
    context: Type.Optional(Type.String({ minLength: 1, description: "Build context directory, relative to the stack file. Omit for a context made only of extra_files." })),
    dockerfile: Type.Optional(Type.String({ minLength: 1, description: "Dockerfile path, relative to the context directory (like docker build -f). Default: Dockerfile." })),
    dockerfile_inline: Type.Optional(Type.String({ minLength: 1, description: "The Dockerfile itself, written inline. Excludes `dockerfile`." })),
    dockerignore: Type.Optional(Type.String({ minLength: 1, description: "Ignore file, relative to the stack file. Default: <dockerfile>.dockerignore beside the Dockerfile, else <context>/.dockerignore." })),
    build_args: Type.Optional(Type.Record(Type.String({ pattern: ARG_NAME_PATTERN }), ScalarString, { additionalProperties: false, default: {}, description: "Build-time variables (--build-arg). Names are letters, digits and _." })),
    target: Type.Optional(Type.String({ minLength: 1, description: "Build stage to stop at (--target)." })),
    platforms: Type.Optional(Type.Array(Type.String({ pattern: "^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$" }), { uniqueItems: true, default: [], description: "Target platforms, e.g. [linux/amd64, linux/arm64]." })),
    labels: Type.Optional(Type.Record(Type.String({ minLength: 1 }), ScalarString, { default: {}, description: "Image labels." })),
    tags: Type.Optional(Type.Array(Type.String({ pattern: TAG_PATTERN }), { uniqueItems: true, default: ["latest"], description: "Tags to apply. Default: [latest]." })),
    extra_files: Type.Optional(Type.Record(Type.String({ minLength: 1 }), ExtraFileSchema, { description: "Files added to the context, by destination path inside the context. They override context files of the same path." })),
    depends_on: Type.Optional(Type.Array(Type.String(), { uniqueItems: true, default: [], description: "Images of this stack that must be built first." })),
    no_cache: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Always build this image: without the engine's build cache (--no-cache), and never reusing an earlier identical build (as --no-reuse does for the whole run).",
      }),
    ),
    pull: Type.Optional(Type.Boolean({ default: false, description: "Always attempt to pull newer base images (--pull)." })),
    network: Type.Optional(Type.String({ minLength: 1, description: "Network for RUN instructions: default, none, host (--network)." })),
    // Registry cache and annotations (issue #13, items 3 and 4): see cache_refs.ts for the forms.
    cache_from: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { default: [], description: "Build cache to import, from a registry: a reference (REPO or REPO:TAG) or type=registry,ref=REF (--cache-from). Not part of the checksum: where to look for cache, not what to build." })),
    cache_to: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { default: [], description: "Where to export the build cache: a reference or type=registry,ref=REF (podman, buildah), or type=inline: the cache rides in the pushed image (docker BuildKit). Registry refs are not part of the checksum; inline is (it changes the image)." })),
    annotations: Type.Optional(Type.Record(Type.String({ minLength: 1 }), ScalarString, { default: {}, description: "OCI annotations on the pushed manifest (and on the index of a multi-platform image), e.g. org.opencontainers.image.source." })),
    extra_flags: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { default: [], description: "Engine-specific flags the flavor accepts (see `imgb flavor describe`): --flag, --flag=value, or --flag and value as two items." })),
    secrets: Type.Optional(SecretsSchema),
    ssh: Type.Optional(SshSchema),
    contexts: Type.Optional(
      Type.Record(Type.String({ pattern: CONTEXT_NAME_PATTERN }), Type.String({ minLength: 1 }), {
        additionalProperties: false,
        description: "Named extra build contexts (--build-context), used by `COPY --from=NAME` and `FROM NAME`: a directory relative to the stack file, docker-image://REF, or ${images.NAME.ref} (an image of this stack, built first).",
      }),
    ),
  },
  { ...strict, description: "One image to build." },
);

export const CredentialsSchema = Type.Object(
  {
    username: Type.String({ minLength: 1, description: "Registry user name." }),
    password_env: Type.Optional(Type.String({ pattern: ARG_NAME_PATTERN, description: "Name of the environment variable holding the password or token." })),
    password_file: Type.Optional(Type.String({ minLength: 1, description: "File holding the password or token, relative to the stack file." })),
  },
  { ...strict, description: "Registry credentials. The secret itself is never written in the stack file." },
);

export const RegistrySchema = Type.Object(
  {
    uri: Type.String({ pattern: REGISTRY_URI_PATTERN, description: "Registry host[:port][/namespace], e.g. 127.0.0.1:5000 or ghcr.io/acme." }),
    repository: Type.Optional(Type.String({ pattern: IMAGE_NAME_PATTERN, description: "Repository to push every image to, instead of the image's own name." })),
    insecure: Type.Optional(Type.Boolean({ description: "Plain HTTP / unverified TLS. Default: true for loopback registries (127.0.0.0/8, localhost, ::1), else false." })),
    credentials: Type.Optional(CredentialsSchema),
  },
  { ...strict, description: "Where built images are pushed." },
);

export const ImageBuilderSchema = Type.Object(
  {
    flavor: Type.String({ minLength: 1, description: "A built-in flavor or a registered custom one (`imgb flavor list` shows them), or auto: the first built-in engine found, else the daemonless one." }),
    config: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "The flavor's configuration (see `imgb flavor describe FLAVOR`)." })),
  },
  { ...strict, description: "The stack component that builds images." },
);

export const StackSchema = Type.Object(
  {
    version: Type.Optional(Type.Literal(1, { description: "Stack file format version." })),
    image_builder: Type.Optional(ImageBuilderSchema),
    container_registry: Type.Optional(RegistrySchema),
    flavors: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: "Custom flavor source files, relative to the stack file." })),
    secrets: Type.Optional(Type.Record(Type.String({ pattern: MOUNT_ID_PATTERN }), SecretSchema, { additionalProperties: false, description: "Build secrets every image gets, by id; an image's own `secrets` entry of the same id wins." })),
    reuse: Type.Optional(
      Type.Union([Type.Literal("registry"), Type.Literal("local"), Type.Literal("off")], {
        description:
          "Skip identical builds: registry (this machine's record, else the record tag imgb-<checksum> in container_registry, shared by every machine; the default with a registry), local (this machine's record only; the default without), off (always build). `imgb build --reuse` overrides it.",
      }),
    ),
    images: Type.Record(Type.String({ pattern: IMAGE_NAME_PATTERN }), ImageSchema, { additionalProperties: false, minProperties: 1, description: "Images by name. The name is the repository path, e.g. app or team/app." }),
    groups: Type.Optional(
      Type.Record(Type.String({ pattern: IMAGE_NAME_PATTERN }), Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true }), {
        additionalProperties: false,
        description: "Named sets of images (bake's groups): `imgb build GROUP`. Members are images, matrix definitions (all their images) or other groups. The group `default` is built when no name is given.",
      }),
    ),
  },
  { ...strict, title: "imgb stack file", description: "A stack: an image builder, an optional registry, and the images to build." },
);

export type StackFile = Static<typeof StackSchema>;
export type ImageEntry = Static<typeof ImageSchema>;
