// Ansible runs its modules (fact gathering first) with the image's own Python. A base without one
// (a minbase debootstrap, a slim tarball) gets python3 from apt in the `packages` step, before any
// provisioner runs; a base without apt-get fails before provisioning, naming what to add.
import path from "node:path";
import type { ProvisionerPlan } from "../../plan/plan.js";
import { pathExists } from "../../util/fs.js";

/** What bib installs for Ansible; it stays in the image, where Ansible users expect it. */
export const ANSIBLE_PYTHON_PACKAGE = "python3";

// Where ansible-core's interpreter discovery (INTERPRETER_PYTHON_FALLBACK) finds one on Linux.
const INTERPRETERS = [
  "usr/bin/python3",
  "usr/local/bin/python3",
  "usr/libexec/platform-python",
  "usr/bin/python",
];

export interface PythonTree {
  hasPython: boolean;
  hasApt: boolean;
}

// lstat (pathExists): the interpreters are symlinks in the image, resolved inside it, not on the host.
export async function inspectPython(rootfs: string): Promise<PythonTree> {
  let hasPython = false;
  for (const p of INTERPRETERS) hasPython ||= await pathExists(path.join(rootfs, p));
  return { hasPython, hasApt: await pathExists(path.join(rootfs, "usr/bin/apt-get")) };
}

/** The error for an ansible provisioner that would run on an image without Python (pure). */
export function noPythonMessage(index: number, name: string, tree: Pick<PythonTree, "hasApt">): string {
  const what = `ansible provisioner "${name}" (spec.provisioners[${index}]): the image has no Python, which Ansible runs its modules with`;
  return tree.hasApt
    ? `${what} (a provisioner before it removed ${ANSIBLE_PYTHON_PACKAGE}); keep ${ANSIBLE_PYTHON_PACKAGE} installed until the last ansible provisioner`
    : `${what}, and no apt-get for bib to install it; add Python to the base image, or a shell provisioner before "${name}" that installs it`;
}

/**
 * What the `packages` step does for the ansible provisioners (pure): nothing when the image has
 * Python or no provisioner is ansible; install python3 when apt-get is there; otherwise fail now,
 * unless a shell provisioner runs first (it may install Python; the ansible step checks again).
 */
export function pythonForAnsible(
  provisioners: readonly Pick<ProvisionerPlan, "type" | "name">[],
  tree: PythonTree,
): { install: string[] } | { error: string } {
  const first = provisioners.findIndex((p) => p.type === "ansible");
  if (first < 0 || tree.hasPython) return { install: [] };
  if (tree.hasApt) return { install: [ANSIBLE_PYTHON_PACKAGE] };
  if (provisioners.slice(0, first).some((p) => p.type === "shell")) return { install: [] };
  return { error: noPythonMessage(first, provisioners[first]!.name, tree) };
}
