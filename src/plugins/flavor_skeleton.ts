/**
 * The files of a new flavor, as `imgb flavor init NAME` writes them: a flavor file (name, config
 * schema, a `validate` hook), a builder file (the built-in docker builder with the flavor's
 * labels added), the SDK's declarations with a tsconfig.json that points `imgb` at them, and a
 * stack to try it with. It registers and builds as written; then the author changes it.
 */
import { CONTRACT_VERSION } from "../builder/flavor.ts";
import { SDK_DECLARATIONS } from "./sdk_declarations.ts";

/** The editor and `tsc` setup of a flavor directory: `imgb` resolves to ./imgb.d.ts, no node_modules. */
export const FLAVOR_TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: "ESNext",
      module: "ESNext",
      moduleResolution: "bundler",
      lib: ["ESNext", "DOM"],
      types: [],
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      verbatimModuleSyntax: true,
      paths: { imgb: ["./imgb.d.ts"] },
    },
    include: ["*.ts"],
  },
  null,
  2,
)}\n`;

/** `my-flavor` -> `MyFlavor`. */
function pascalCase(name: string): string {
  return name
    .split(/[-_]/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
}

/** Relative path -> content. */
export function flavorSkeleton(name: string): Record<string, string> {
  const builderClass = `${pascalCase(name)}Builder`;
  return {
    "flavor.ts": `/**
 * The ${name} flavor: its name, its config schema and checks, and a lazy link to the builder.
 * imgb imports this file to validate stacks, so keep it light; the work is in builder.ts.
 *
 *   imgb flavor register ./flavor.ts
 */
import { OUTPUT_KEY, Type, defineFlavor, type ConfigProblem } from "imgb";

export const Config = Type.Object(
  {
    labels: Type.Record(Type.String(), Type.String(), {
      [OUTPUT_KEY]: true, // changes the image, so it is part of the image checksum
      default: {},
      description: "Labels put on every image this flavor builds.",
    }),
    docker: Type.Optional(
      Type.Object(
        {
          binary: Type.Optional(Type.String({ minLength: 1, description: "The docker CLI to run (default: docker)." })),
          host: Type.Optional(Type.String({ pattern: "^(unix|tcp|ssh)://.+", description: "Daemon address, like DOCKER_HOST." })),
          builder: Type.Optional(Type.Union([Type.Literal("buildkit"), Type.Literal("classic")])),
        },
        { additionalProperties: false, description: "How to reach Docker (the docker flavor's keys)." },
      ),
    ),
  },
  { additionalProperties: false },
);

export default defineFlavor({
  contractVersion: ${CONTRACT_VERSION},
  name: ${JSON.stringify(name)},
  type: "image_builder",
  description: "Docker builds with the ${name} flavor's labels.",
  config: Config,
  // Checks the schema cannot express; each problem is reported at its key in the stack file.
  validate(config) {
    const problems: ConfigProblem[] = [];
    for (const key of Object.keys(config.labels)) {
      if (!key.includes(".")) problems.push({ path: \`/labels/\${key}\`, message: \`label '\${key}' is not namespaced\`, hint: "use reverse DNS, like com.example.team" });
    }
    return problems;
  },
  implementation: async () => (await import("./builder.ts")).${builderClass},
});
`,
    "builder.ts": `/**
 * The ${name} builder, imported only when an image is built: the built-in docker builder, with
 * the flavor's labels added to every build. Replace build() with what your flavor is for.
 */
import { builtinBuilder, type BuilderEnv, type BuildContext, type BuildOptions, type ContainerRegistry, type Static } from "imgb";
import type { Config } from "./flavor.ts";

type ${pascalCase(name)}Config = Static<typeof Config>;

const DockerBuilder = await builtinBuilder("docker");

export class ${builderClass} extends DockerBuilder {
  readonly flavorConfig: ${pascalCase(name)}Config;

  constructor(config: ${pascalCase(name)}Config, env: BuilderEnv) {
    super({ binary: "docker", builder: "buildkit", ...config.docker }, env);
    this.flavorConfig = config;
  }

  override build(imageName: string, context: BuildContext, options: BuildOptions, registry?: ContainerRegistry): Promise<string> {
    this.env.log(\`${name}: adding \${Object.keys(this.flavorConfig.labels).length} label(s)\`);
    const labels = { ...options.labels, ...this.flavorConfig.labels };
    return super.build(imageName, context, { ...options, labels }, registry);
  }
}
`,
    "imgb.d.ts": SDK_DECLARATIONS,
    "tsconfig.json": FLAVOR_TSCONFIG,
    "imgb.yaml": `# A stack to try the ${name} flavor with:
#   imgb flavor register ./flavor.ts && imgb build -f imgb.yaml
image_builder:
  flavor: ${name}
  config:
    labels: { com.example.flavor: ${name} }
images:
  ${name}-hello:
    context: app
    network: none
`,
    "app/Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
    "app/hello.txt": `Built with the ${name} flavor.\n`,
  };
}
