/**
 * `COPY --chown=user[:group]`: numbers are used as they are (a missing group is the uid, as
 * BuildKit does for numeric users); names are looked up in the stage's own /etc/passwd and
 * /etc/group, read from its layers, since there is no container to ask.
 */
import { InputError, type Location } from "../../src/errors.ts";
import { readNode, type FileTree } from "./tree.ts";

export async function resolveOwner(chown: string, loadTree: () => Promise<FileTree>, location: Location): Promise<{ uid: number; gid: number }> {
  const [user = "", group] = chown.split(":");
  const numeric = (s: string) => /^\d+$/.test(s);
  if (user === "") throw new InputError("oci.chown", `Invalid --chown=${chown}: the user is empty`, { location });
  if (numeric(user) && (group === undefined || numeric(group))) {
    return { uid: Number(user), gid: Number(group ?? user) };
  }
  const tree = await loadTree();
  const passwd = parseDb(tree, "etc/passwd");
  let uid: number;
  let gid: number;
  if (numeric(user)) {
    uid = Number(user);
    gid = uid;
  } else {
    const entry = passwd.find((f) => f[0] === user);
    if (!entry) throw notFound(`user ${JSON.stringify(user)}`, "/etc/passwd", chown, location);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (group !== undefined) {
    if (numeric(group)) gid = Number(group);
    else {
      const entry = parseDb(tree, "etc/group").find((f) => f[0] === group);
      if (!entry) throw notFound(`group ${JSON.stringify(group)}`, "/etc/group", chown, location);
      gid = Number(entry[2]);
    }
  }
  return { uid, gid };
}

function notFound(what: string, file: string, chown: string, location: Location): InputError {
  return new InputError("oci.chown", `Invalid --chown=${chown}: ${what} is not in the stage's ${file}`, { location, hint: "use numeric ids (--chown=1000:1000), or add the user to the base image" });
}

function parseDb(tree: FileTree, path: string): string[][] {
  const node = tree.get(path);
  const text = node?.type === "file" ? new TextDecoder().decode(readNode(node)) : "";
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}
