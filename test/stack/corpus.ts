/**
 * The bad-input corpus: stack files that must be refused, each with the error it must produce
 * (message, and where: line, column, JSON path). Files are written to a temp dir by the tests,
 * so the corpus is data, not fixtures on disk. `schema: true` marks files that an independent
 * JSON Schema validator must also reject with `imgb schema`'s output.
 */
export interface BadStack {
  name: string;
  /** Stack file content; a function for generated (binary, huge) content. */
  yaml: string | (() => Uint8Array | string);
  /** Other files to create next to it, relative path -> content. */
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** One error that must be among those reported. Without `lines`, it must be the only one. */
  expect?: { message: RegExp; line?: number; col?: number; path?: string; hint?: RegExp };
  /**
   * Every error of the run, exactly, in order, each once: `LINE:COL: message [hint: …]`, the
   * temp dir written `<dir>`, a file other than the stack file named before the line
   * (`.dockerignore:1: …`), an error without a line (a --set argument) as the bare message.
   */
  lines?: string[];
  /** `--set` arguments. */
  set?: string[];
  /** Must the JSON Schema from `imgb schema` reject it too? */
  schema?: boolean;
}

const head = "image_builder:\n  flavor: docker\n";
const ok = "images:\n  app:\n    context: .\n";
const withDockerfile = { Dockerfile: "FROM scratch\n" };

export const corpus: BadStack[] = [
  { name: "empty file", yaml: "", lines: ["1:1: Stack file is empty [hint: a stack needs at least 'image_builder:' and 'images:']"], expect: { message: /^Stack file is empty$/, line: 1, col: 1 } },
  { name: "only a comment", yaml: "# nothing here\n", lines: ["1:1: Stack file is empty [hint: a stack needs at least 'image_builder:' and 'images:']"], expect: { message: /^Stack file is empty$/ } },
  { name: "binary file", yaml: () => new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]), lines: ["Stack file is not text: it contains a NUL byte at offset 4 [hint: is -f pointing at the right file?]"], expect: { message: /not text: it contains a NUL byte at offset 4/ } },
  { name: "invalid utf-8", yaml: () => new Uint8Array([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]), lines: ["Stack file is not valid UTF-8 [hint: save it as UTF-8]"], expect: { message: /not valid UTF-8/ } },
  { name: "10 MB file", yaml: () => "# " + "x".repeat(10 * 1024 * 1024) + "\n", lines: ["Stack file is too large: 10.0 MiB (the limit is 1 MiB) [hint: a stack file describes images; large data belongs in the build context]"], expect: { message: /too large: 10\.0 MiB/ } },
  {
    name: "alias bomb (billion laughs)",
    lines: ["2:8: YAML aliases expand too much: Excessive alias count indicates a resource exhaustion attack [hint: aliases are limited to keep alias bombs from expanding; write the values out]"],
    yaml: () => {
      let s = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
      for (let i = 1; i < 9; i++) { const p = String.fromCharCode(96 + i); const c = String.fromCharCode(97 + i); s += `${c}: &${c} [${Array(9).fill(`*${p}`).join(",")}]\n`; }
      return s;
    },
    expect: { message: /alias/i, line: 2 },
  },
  { name: "too many aliases", yaml: "x: &x 1\nl: [" + Array(150).fill("*x").join(", ") + "]\n", lines: ["2:405: Too many YAML aliases: more than 100 [hint: aliases are limited to keep alias bombs from expanding; write the values out]"], expect: { message: /Too many YAML aliases: more than 100/, line: 2 } },
  { name: "yaml syntax: unclosed flow", yaml: head + "images: { app: { context: . }\n", lines: ["4:1: Invalid YAML: flow map in block collection must be sufficiently indented and end with a } [hint: check the indentation and quoting on this line]"], expect: { message: /^Invalid YAML/, line: 4 } },
  { name: "yaml syntax: bad indentation", yaml: "image_builder:\n  flavor: docker\n   config: {}\nimages: {}\n", lines: ["2:11: Invalid YAML: nested mappings are not allowed in compact mappings"], expect: { message: /^Invalid YAML/, line: 2, col: 11 } },
  { name: "yaml syntax: tab indent", yaml: "image_builder:\n\tflavor: docker\n", lines: ["2:1: Invalid YAML: tabs are not allowed as indentation [hint: indent with spaces, not tabs]"], expect: { message: /^Invalid YAML/, line: 2 } },
  { name: "duplicate key", yaml: head + ok + "    context: ./other\n", files: withDockerfile, lines: ["6:5: Duplicate key: each key may appear once in a mapping [hint: remove or rename one of the two]"], expect: { message: /^Duplicate key/, line: 6, col: 5 } },
  { name: "top level is a list", yaml: "- image_builder\n- images\n", lines: ["1:1: Stack file must be a mapping with 'image_builder' and 'images' [hint: see imgb schema, or examples/ in the imgb repository]"], expect: { message: /must be a mapping/, line: 1, col: 1 }, schema: true },
  { name: "top level is a scalar", yaml: "hello\n", lines: ["1:1: Stack file must be a mapping with 'image_builder' and 'images' [hint: see imgb schema, or examples/ in the imgb repository]"], expect: { message: /must be a mapping/ }, schema: true },
  { name: "missing images", yaml: head, lines: ["1:1: Missing required key 'images' (at /) [hint: Images by name. The name is the repository path, e.g. app or team/app.]"], expect: { message: /^Missing required key 'images'/, line: 1, col: 1 }, schema: true },
  { name: "auto flavor with a config", yaml: "image_builder:\n  flavor: auto\n  config: { binary: docker }\n" + ok, files: withDockerfile, lines: ["3:3: Flavor 'auto' takes no config: the flavor it picks uses its defaults (at /image_builder/config) [hint: name the flavor to configure it, e.g. flavor: docker]"], expect: { message: /Flavor 'auto' takes no config/, line: 3, col: 3 } },
  { name: "unknown top-level key", yaml: head + ok + "imags: {}\n", files: withDockerfile, lines: ["6:1: Unknown key 'imags' (at /imags) [hint: did you mean 'images'?]"], expect: { message: /^Unknown key 'imags'/, line: 6, col: 1, path: "/imags", hint: /did you mean 'images'/ }, schema: true },
  { name: "unknown image key with suggestion", yaml: head + "images:\n  app:\n    context: .\n    dockerfil: Dockerfile\n", files: withDockerfile, lines: ["6:5: Unknown key 'dockerfil' (at /images/app/dockerfil) [hint: did you mean 'dockerfile'?]"], expect: { message: /^Unknown key 'dockerfil'$/, line: 6, col: 5, path: "/images/app/dockerfil", hint: /did you mean 'dockerfile'\?/ }, schema: true },
  { name: "empty images", yaml: head + "images: {}\n", lines: ["3:9: Must not be empty (at /images)"], expect: { message: /Must not be empty/, line: 3, path: "/images" }, schema: true },
  { name: "images is a list", yaml: head + "images:\n  - app\n", lines: ["4:3: Expected a mapping, got a list (at /images)"], expect: { message: /Expected a mapping, got a list/, line: 4, path: "/images" }, schema: true },
  { name: "invalid image name", yaml: head + "images:\n  App_Image:\n    context: .\n", lines: ["4:3: Invalid name 'App_Image': 'App_Image' is not a repository path component (at /images/App_Image) [hint: image names are lowercase repository paths: path components are lowercase letters and digits, joined by '.', '_', '__' or '-', separated by '/']"], expect: { message: /^Invalid name 'App_Image'/, line: 4, col: 3, hint: /lowercase/ }, schema: true },
  { name: "wrong type: tags is a string", yaml: head + ok + "    tags: latest\n", files: withDockerfile, lines: ["6:11: Expected a list, got 'latest' (at /images/app/tags)"], expect: { message: /Expected a list, got 'latest'/, line: 6, col: 11, path: "/images/app/tags" }, schema: true },
  { name: "invalid tag", yaml: head + ok + "    tags: ['has space']\n", files: withDockerfile, lines: ["6:12: Invalid value 'has space': must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ (at /images/app/tags/0)"], expect: { message: /Invalid value 'has space': must match/, line: 6, path: "/images/app/tags/0" }, schema: true },
  { name: "wrong type: no_cache", yaml: head + ok + "    no_cache: sometimes\n", files: withDockerfile, lines: ["6:15: Expected true or false, got 'sometimes' (at /images/app/no_cache)"], expect: { message: /Expected true or false, got 'sometimes'/, line: 6, col: 15 }, schema: true },
  { name: "build arg value is a mapping", yaml: head + ok + "    build_args:\n      X: { a: 1 }\n", files: withDockerfile, lines: ["7:10: Expected a string, number or boolean (at /images/app/build_args/X)"], expect: { message: /Expected a string, number or boolean/, line: 7, path: "/images/app/build_args/X" }, schema: true },
  { name: "build arg invalid name", yaml: head + ok + "    build_args:\n      1X: a\n", files: withDockerfile, lines: ["7:7: Invalid name '1X': must match ^[A-Za-z_][A-Za-z0-9_]*$ (at /images/app/build_args/1X) [hint: names start with a letter or '_' and contain letters, digits and '_']"], expect: { message: /^Invalid name '1X'/, line: 7, col: 7 }, schema: true },
  { name: "extra file with both content and source", yaml: head + ok + "    extra_files:\n      VERSION: { content: x, source: y }\n", files: withDockerfile, lines: ["7:16: Expected an extra file: either {content: TEXT} or {source: PATH}, with an optional mode (at /images/app/extra_files/VERSION)"], expect: { message: /either \{content: TEXT\} or \{source: PATH\}/, line: 7, path: "/images/app/extra_files/VERSION" }, schema: true },
  { name: "extra file escapes the context", yaml: head + ok + "    extra_files:\n      ../evil: { content: x }\n", files: withDockerfile, lines: ["7:7: Extra file destination '../evil' is outside the build context (at /images/app/extra_files/..~1evil) [hint: use a relative path without '..']"], expect: { message: /destination '..\/evil' is outside the build context/, line: 7, col: 7 } },
  { name: "extra file absolute destination", yaml: head + ok + "    extra_files:\n      /etc/passwd: { content: x }\n", files: withDockerfile, lines: ["7:7: Extra file destination '/etc/passwd' is outside the build context (at /images/app/extra_files/~1etc~1passwd) [hint: use a relative path without '..']"], expect: { message: /outside the build context/, line: 7 } },
  { name: "extra file source missing", yaml: head + ok + "    extra_files:\n      VERSION: { source: nope.txt }\n", files: withDockerfile, lines: ["7:26: Extra file source not found: '<dir>/nope.txt' (at /images/app/extra_files/VERSION/source) [hint: paths are relative to the stack file]"], expect: { message: /Extra file source not found: '.*nope\.txt'/, line: 7, path: "/images/app/extra_files/VERSION/source" } },
  { name: "unknown flavor", yaml: "image_builder:\n  flavor: dockr\n" + ok, files: withDockerfile, lines: ["2:11: Unknown flavor 'dockr' (at /image_builder/flavor) [hint: did you mean 'docker'?]"], expect: { message: /^Unknown flavor 'dockr'$/, line: 2, col: 11, hint: /did you mean 'docker'/ }, schema: true },
  { name: "flavor config: unknown key", yaml: head + "  config:\n    binray: docker\n" + ok, files: withDockerfile, expect: { message: /^Unknown key 'binray'$/, line: 4, col: 5, path: "/image_builder/config/binray", hint: /did you mean 'binary'/ }, schema: true },
  { name: "flavor config: bad enum", yaml: head + "  config:\n    builder: kaniko\n" + ok, files: withDockerfile, expect: { message: /Invalid value 'kaniko'/, line: 4, col: 14, hint: /"buildkit", "classic"/ }, schema: true },
  { name: "flavor config: bad host", yaml: head + "  config:\n    host: 127.0.0.1:2375\n" + ok, files: withDockerfile, expect: { message: /must match/, line: 4, path: "/image_builder/config/host" }, schema: true },
  { name: "flavor config: buildah isolation", yaml: "image_builder:\n  flavor: buildah\n  config: { isolation: vm }\n" + ok, files: withDockerfile, expect: { message: /Invalid value 'vm'/, line: 3, path: "/image_builder/config/isolation" }, schema: true },
  { name: "unset variable", yaml: head + ok + "    tags: [\"${GIT_SHA}\"]\n", files: withDockerfile, lines: ["6:13: Environment variable 'GIT_SHA' is not set (at /images/app/tags/0) [hint: set it, or give a default: ${GIT_SHA:-default}]"], expect: { message: /^Environment variable 'GIT_SHA' is not set$/, line: 6, col: 13, path: "/images/app/tags/0", hint: /\$\{GIT_SHA:-default\}/ } },
  { name: "required variable with message", yaml: head + ok + "    target: ${TARGET:?pick a stage}\n", files: withDockerfile, lines: ["6:13: Environment variable 'TARGET' is required: pick a stage (at /images/app/target)"], expect: { message: /'TARGET' is required: pick a stage/, line: 6, col: 13 } },
  { name: "unterminated variable", yaml: head + ok + "    target: ${TARGET\n", files: withDockerfile, lines: ["6:13: Unterminated variable reference: missing '}' (at /images/app/target) [hint: write $$ for a literal '$']"], expect: { message: /Unterminated variable reference/, line: 6 } },
  { name: "missing context directory", yaml: head + "images:\n  app:\n    context: ./nope\n", lines: ["5:14: Context directory not found: '<dir>/nope' (at /images/app/context) [hint: paths are relative to the stack file]"], expect: { message: /^Context directory not found: '.*\/nope'$/, line: 5, col: 14, path: "/images/app/context" } },
  { name: "context is a file", yaml: head + "images:\n  app:\n    context: Dockerfile\n", files: withDockerfile, lines: ["5:14: Context directory not found: '<dir>/Dockerfile' (at /images/app/context) [hint: paths are relative to the stack file]"], expect: { message: /Context directory not found/, line: 5 } },
  { name: "missing Dockerfile", yaml: head + ok, lines: ["4:3: Dockerfile not found: '<dir>/Dockerfile' (at /images/app) [hint: set 'dockerfile' or 'dockerfile_inline']"], expect: { message: /^Dockerfile not found: '.*\/Dockerfile'$/, line: 4, col: 3, path: "/images/app", hint: /dockerfile_inline/ } },
  { name: "missing named Dockerfile", yaml: head + ok + "    dockerfile: build/app.Dockerfile\n", lines: ["6:17: Dockerfile not found: '<dir>/build/app.Dockerfile' (at /images/app/dockerfile) [hint: 'dockerfile' is relative to the context directory]"], expect: { message: /Dockerfile not found: '.*build\/app\.Dockerfile'/, line: 6, col: 17 } },
  { name: "dockerfile and dockerfile_inline", yaml: head + ok + "    dockerfile: Dockerfile\n    dockerfile_inline: FROM scratch\n", files: withDockerfile, lines: ["7:5: Both 'dockerfile' and 'dockerfile_inline' are set (at /images/app/dockerfile_inline) [hint: keep one of them]"], expect: { message: /Both 'dockerfile' and 'dockerfile_inline'/, line: 7, col: 5 } },
  { name: "missing ignore file", yaml: head + ok + "    dockerignore: custom.ignore\n", files: withDockerfile, lines: ["6:19: Ignore file not found: '<dir>/custom.ignore' (at /images/app/dockerignore) [hint: paths are relative to the stack file]"], expect: { message: /Ignore file not found/, line: 6, col: 19 } },
  { name: "unknown depends_on", yaml: head + ok + "    depends_on: [bsae]\n  base:\n    context: .\n", files: withDockerfile, lines: ["6:18: Unknown image 'bsae' in depends_on (at /images/app/depends_on/0) [hint: did you mean 'base'?]"], expect: { message: /^Unknown image 'bsae' in depends_on$/, line: 6, col: 18, hint: /did you mean 'base'/ } },
  { name: "dependency cycle", yaml: head + "images:\n  a:\n    context: .\n    depends_on: [b]\n  b:\n    context: .\n    depends_on: [a]\n", files: withDockerfile, lines: ["4:3: Dependency cycle: a -> b -> a (at /images/a) [hint: remove one of these dependencies]"], expect: { message: /^Dependency cycle: a -> b -> a$/, line: 4, col: 3 } },
  { name: "self dependency", yaml: head + ok + "    depends_on: [app]\n", files: withDockerfile, lines: ["6:18: Image 'app' depends on itself (at /images/app/depends_on/0)"], expect: { message: /depends on itself/, line: 6 } },
  { name: "image reference to unknown image", yaml: head + ok + "    build_args:\n      BASE: ${images.base.ref}\n", files: withDockerfile, lines: ["7:13: Unknown image 'base' in '${images.base.ref}' (at /images/app/build_args/BASE) [hint: images in this stack: app]"], expect: { message: /Unknown image 'base' in '\$\{images\.base\.ref\}'/, line: 7 } },
  { name: "password in the stack file", yaml: head + "container_registry:\n  uri: 127.0.0.1:5000\n  credentials:\n    username: u\n    password: hunter2\n" + ok, files: withDockerfile, lines: ["7:5: Unknown key 'password' (at /container_registry/credentials/password) [hint: secrets are never written in the stack file: use password_env (a variable name) or password_file]"], expect: { message: /^Unknown key 'password'$/, line: 7, col: 5, hint: /never written in the stack file/ }, schema: true },
  { name: "credentials without a password source", yaml: head + "container_registry:\n  uri: 127.0.0.1:5000\n  credentials: { username: u }\n" + ok, files: withDockerfile, lines: ["5:16: Credentials need exactly one of 'password_env' or 'password_file' (at /container_registry/credentials) [hint: password_env names an environment variable; password_file a file holding the secret]"], expect: { message: /exactly one of 'password_env' or 'password_file'/, line: 5 } },
  { name: "registry uri with scheme", yaml: head + "container_registry:\n  uri: https://ghcr.io/acme\n" + ok, files: withDockerfile, lines: ["4:8: Invalid registry URI 'https://ghcr.io/acme': no scheme is allowed (at /container_registry/uri) [hint: write host[:port][/namespace], e.g. 127.0.0.1:5000 or ghcr.io/acme; 'insecure: true' selects plain HTTP]"], expect: { message: /^Invalid registry URI 'https:\/\/ghcr\.io\/acme': no scheme is allowed$/, line: 4, col: 8, path: "/container_registry/uri", hint: /insecure: true/ }, schema: true },
  { name: "extra flag not accepted by the flavor", yaml: head + ok + "    extra_flags: [--privileged]\n", files: withDockerfile, expect: { message: /does not accept the extra flag '--privileged'/, line: 6, path: "/images/app/extra_flags/0" } },
  { name: "unsupported version", yaml: "version: 2\n" + head + ok, files: withDockerfile, lines: ["1:10: Invalid value number 2 (at /version) [hint: expected 1]"], expect: { message: /Invalid value number 2/, line: 1, col: 10, hint: /expected 1/ }, schema: true },
  { name: "invalid platform", yaml: head + ok + "    platforms: [amd64]\n", files: withDockerfile, lines: ["6:17: Invalid value 'amd64': must match ^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$ (at /images/app/platforms/0)"], expect: { message: /Invalid value 'amd64': must match/, line: 6 }, schema: true },

  // Item 8 of issue #11: every independent error of a file in one run, each once.
  {
    name: "all errors at once: builder typo, missing context, bad tag, missing Dockerfile",
    yaml: "image_builder:\n  flavr: docker\nimages:\n  app:\n    context: ./nope\n  b:\n    context: .\n    tags: [\"a b\"]\n  c:\n    context: .\n    dockerfile: missing.Dockerfile\n",
    files: withDockerfile,
    lines: [
      "2:3: Unknown key 'flavr' (at /image_builder/flavr) [hint: did you mean 'flavor'?]",
      "5:14: Context directory not found: '<dir>/nope' (at /images/app/context) [hint: paths are relative to the stack file]",
      "8:12: Invalid value 'a b': must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ (at /images/b/tags/0)",
      "11:17: Dockerfile not found: '<dir>/missing.Dockerfile' (at /images/c/dockerfile) [hint: 'dockerfile' is relative to the context directory]",
    ],
  },
  {
    name: "all errors at once: unknown flavor and a missing Dockerfile",
    yaml: "image_builder:\n  flavor: dockr\n" + ok,
    lines: [
      "2:11: Unknown flavor 'dockr' (at /image_builder/flavor) [hint: did you mean 'docker'?]",
      "4:3: Dockerfile not found: '<dir>/Dockerfile' (at /images/app) [hint: set 'dockerfile' or 'dockerfile_inline']",
    ],
  },
  {
    name: "all errors at once: a bad value in an image still checks its context",
    yaml: head + "images:\n  app:\n    context: ./nope\n    no_cache: maybe\n",
    lines: [
      "5:14: Context directory not found: '<dir>/nope' (at /images/app/context) [hint: paths are relative to the stack file]",
      "6:15: Expected true or false, got 'maybe' (at /images/app/no_cache)",
    ],
  },
  {
    name: "missing required key reported once",
    yaml: head + "container_registry:\n  insecure: true\n" + ok,
    files: withDockerfile,
    lines: ["4:3: Missing required key 'uri' (at /container_registry) [hint: Registry host[:port][/namespace], e.g. 127.0.0.1:5000 or ghcr.io/acme.]"],
    schema: true,
  },
  {
    name: "--set error points at the --set argument",
    yaml: head + ok + "    tags: [ok]\n",
    files: withDockerfile,
    set: ["app.tags=a b", "app.context=./nope"],
    lines: [
      "--set 'app.tags=a b': Invalid value 'a b': must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
      "--set 'app.context=./nope': Context directory not found: '<dir>/nope' [hint: paths are relative to the stack file]",
    ],
  },
  // Item 17: one mistake, one line.
  { name: "typo 'flavour': one line", yaml: "image_builder:\n  flavour: docker\n" + ok, files: withDockerfile, lines: ["2:3: Unknown key 'flavour' (at /image_builder/flavour) [hint: did you mean 'flavor'?]"], schema: true },
  { name: "empty uri: one line", yaml: head + "container_registry:\n  uri: \"\"\n" + ok, files: withDockerfile, lines: ["4:8: Registry URI is empty (at /container_registry/uri) [hint: write host[:port][/namespace], e.g. 127.0.0.1:5000 or ghcr.io/acme]"], schema: true },
  { name: "missing context: no derived 'Dockerfile not found'", yaml: head + "images:\n  app:\n    context: ./nope\n", lines: ["5:14: Context directory not found: '<dir>/nope' (at /images/app/context) [hint: paths are relative to the stack file]"] },
  { name: "undefined alias is not an alias bomb", yaml: head + "images:\n  app: *base\n", lines: ["4:8: Undefined YAML alias '*base': no anchor '&base' before it [hint: define the anchor (&name) before its first use, or write the value out]"] },
  { name: "several YAML documents", yaml: head + ok + "---\nimages: {}\n", files: withDockerfile, lines: ["6:1: Stack file holds more than one YAML document: a second one starts here [hint: one stack per file: remove this '---' and what follows, or move it to a file of its own]"] },
  { name: "yaml syntax: one mistake, one line", yaml: "image_builder:\n  flavor: docker\n   config: {}\nimages: {}\n", lines: ["2:11: Invalid YAML: nested mappings are not allowed in compact mappings"] },
  // Item 13: file modes.
  {
    name: "file modes: decimal, out of range, not octal",
    yaml: head + ok + "    extra_files:\n      a: { content: x, mode: 755 }\n      b: { content: x, mode: 999 }\n      c: { content: x, mode: 0o1000 }\n      d: { content: x, mode: \"755\" }\n      e: { content: x, mode: 0x1ed }\n      f: { content: x, mode: rwx }\n      ok1: { content: x, mode: 0755 }\n      ok2: { content: x, mode: 0o755 }\n      ok3: { content: x, mode: \"0755\" }\n      ok4: { content: x, mode: 0 }\n",
    files: withDockerfile,
    lines: [
      `7:30: File mode 755 is a decimal number, not octal (at /images/app/extra_files/a/mode) [hint: write the mode in octal: 0755, 0o755 or "0755"]`,
      `8:30: File mode 999 is a decimal number, not octal (at /images/app/extra_files/b/mode) [hint: write the mode in octal: 0755, 0o755 or "0755"]`,
      `9:30: Invalid file mode 0o1000: permission bits go up to 0o777 (at /images/app/extra_files/c/mode) [hint: write the mode in octal: 0755, 0o755 or "0755"]`,
      `10:30: Invalid file mode '755': expected octal digits with a leading 0 (at /images/app/extra_files/d/mode) [hint: write the mode in octal: 0755, 0o755 or "0755"]`,
      `11:30: File mode 493 is a decimal number, not octal (at /images/app/extra_files/e/mode) [hint: write the mode in octal: 0755, 0o755 or "0755"]`,
      `12:30: Invalid file mode 'rwx': expected octal digits with a leading 0 (at /images/app/extra_files/f/mode) [hint: write the mode in octal: 0755, 0o755 or "0755"]`,
    ],
  },
  // Item 16: validation gaps.
  { name: "image name over 255 characters", yaml: head + `images:\n  ${"a".repeat(300)}:\n    context: .\n`, files: withDockerfile, lines: ["4:3: Image name is 300 characters long: the limit is 255 (at /images/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa) [hint: use a shorter repository path]"], expect: { message: /^Image name is 300 characters long: the limit is 255$/, line: 4, col: 3, hint: /shorter/ }, schema: true },
  {
    name: "image name over 255 characters with the registry",
    lines: ["6:3: Image name '127.0.0.1:5000/nnnnnnnnnnnnnnnnnnnnnnnnn...' is 276 characters long with the registry: the limit is 255 (at /images/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa) [hint: use a shorter image name or registry namespace]"],
    yaml: head + `container_registry:\n  uri: 127.0.0.1:5000/${"n".repeat(200)}\nimages:\n  ${"a".repeat(60)}:\n    context: .\n`,
    files: withDockerfile,
    expect: { message: /^Image name '127\.0\.0\.1:5000\/n+\.\.\.' is 276 characters long with the registry: the limit is 255$/, line: 6, col: 3 },
  },
  { name: "registry port out of range", yaml: head + "container_registry:\n  uri: 127.0.0.1:99999\n" + ok, files: withDockerfile, lines: ["4:8: Invalid registry port '99999': expected a number from 1 to 65535 (at /container_registry/uri) [hint: write host[:port][/namespace], e.g. 127.0.0.1:5000 or ghcr.io/acme]"] },
  { name: "registry port not a number", yaml: head + "container_registry:\n  uri: localhost:abc\n" + ok, files: withDockerfile, lines: ["4:8: Invalid registry port 'abc': expected a number from 1 to 65535 (at /container_registry/uri) [hint: write host[:port][/namespace], e.g. 127.0.0.1:5000 or ghcr.io/acme]"], schema: true },
  { name: "registry namespace in uppercase", yaml: head + "container_registry:\n  uri: ghcr.io/Acme\n" + ok, files: withDockerfile, lines: ["4:8: Invalid registry namespace 'Acme': 'Acme' is not a repository path component (at /container_registry/uri) [hint: path components are lowercase letters and digits, joined by '.', '_', '__' or '-' (lowercase only)]"], expect: { message: /^Invalid registry namespace 'Acme': 'Acme' is not a repository path component$/, line: 4, col: 8, hint: /lowercase/ }, schema: true },
  { name: "registry host starting with '-'", yaml: head + "container_registry:\n  uri: -ghcr.io\n" + ok, files: withDockerfile, lines: ["4:8: Invalid registry host '-ghcr.io' (at /container_registry/uri) [hint: a host is a domain name or an IP address: letters, digits, '.' and '-', not starting or ending with '-']"], expect: { message: /^Invalid registry host '-ghcr\.io'$/, line: 4, col: 8, hint: /not starting or ending with '-'/ }, schema: true },
  { name: "unknown image reference field", yaml: head + ok + "    build_args:\n      X: ${images.app.sha}\n", files: withDockerfile, lines: ["7:10: Invalid image reference '${images.app.sha}': expected ${images.NAME.FIELD} with FIELD one of ref, digest, name (at /images/app/build_args/X) [hint: write $${ for a literal '${']"] },
  { name: "image reference field typo", yaml: head + ok + "    build_args:\n      X: ${images.base.digst}\n  base:\n    context: .\n", files: withDockerfile, lines: ["7:10: Invalid image reference '${images.base.digst}': expected ${images.NAME.FIELD} with FIELD one of ref, digest, name (at /images/app/build_args/X) [hint: did you mean '${images.base.digest}'?]"], expect: { message: /^Invalid image reference '\$\{images\.base\.digst\}'/, line: 7, hint: /did you mean '\$\{images\.base\.digest\}'/ } },
  { name: "oci without registry or output", yaml: "image_builder:\n  flavor: oci\n" + ok, files: withDockerfile, lines: ["2:11: Flavor 'oci' has nowhere to put the images: no container_registry and no output (at /image_builder/flavor) [hint: add container_registry: { uri: HOST[:PORT] }, or set config.output (oci-layout:DIR or docker-archive:FILE; --output on the command line)]"], expect: { message: /^Flavor 'oci' has nowhere to put the images: no container_registry and no output$/, line: 2, col: 11, hint: /oci-layout:DIR/ } },
  { name: "invalid .dockerignore pattern", yaml: head + ok, files: { ...withDockerfile, ".dockerignore": "# ok\nnode_modules\nsrc/[a-\n" }, lines: [`.dockerignore:3: Invalid ignore pattern "src/[a-": unclosed character class [hint: Escape a literal "[", "]" or "\\" with a backslash]`] },
  { name: "invalid per-Dockerfile ignore pattern", yaml: head + ok + "    dockerfile: app.Dockerfile\n", files: { "app.Dockerfile": "FROM scratch\n", "app.Dockerfile.dockerignore": "!\n" }, lines: ['app.Dockerfile.dockerignore:1: Invalid ignore pattern "!": "!" alone excludes nothing [hint: Write the path to re-include after the "!", e.g. "!docs/README.md"]'] },
  { name: "extra_flags under flavor auto", yaml: ok + "    extra_flags: [--network=none]\n", files: withDockerfile, lines: ["4:5: Image 'app' has extra_flags, but flavor 'auto' does not say which engine gets them (at /images/app/extra_flags) [hint: extra flags are engine-specific: name the flavor (image_builder: { flavor: docker })]"] },
  { name: "image reference outside build_args", yaml: head + ok + "    labels:\n      from: \"built on ${images.base.ref}\"\n  base:\n    context: .\n", files: withDockerfile, lines: [`7:23: Image reference '\${images.base.ref}' is resolved only in build_args and contexts (at /images/app/labels/from) [hint: pass it as a build arg (build_args: { BASE: "\${images.NAME.ref}" }) and use ARG BASE in the Dockerfile; $\${ writes a literal '\${']`] },
  { name: "extra file content of the wrong type: the variant's own error", yaml: head + ok + "    extra_files:\n      VERSION: { content: 1 }\n", files: withDockerfile, lines: ["7:27: Expected a string, got number 1 (at /images/app/extra_files/VERSION/content)"], schema: true },
  {
    name: "all errors at once: a config that is not a mapping still checks the flavor's extra flags",
    yaml: head + "  config: 5\n" + ok + "    extra_flags: [--squas]\n",
    files: withDockerfile,
    lines: [
      "3:11: Expected a mapping, got number 5 (at /image_builder/config)",
      "7:19: Flavor 'docker' does not accept the extra flag '--squas' (at /images/app/extra_flags/0) [hint: did you mean '--squash'? (accepted: --squash --secret --ssh --add-host --shm-size --ulimit --cache-from --progress --iidfile --isolation --cgroup-parent)]",
    ],
  },
];
