// An OCI image base on one machine: skopeo copies the image into an OCI layout, umoci unpacks it
// (whiteouts applied, owners kept). In the Pod the kubelet pulls instead (see copier.ts).
import { rm } from "node:fs/promises";
import { run } from "../../util/exec.js";

/**
 * `registriesConf`: the containers-registries.conf(5) named by CONTAINERS_REGISTRIES_CONF (e.g. a
 * registry marked insecure), passed as a flag because skopeo 1.9 (Debian 12) ignores the variable.
 */
export function skopeoArgs(image: string, layout: string, registriesConf?: string): string[] {
  const ref = image.includes("://") ? image : `docker://${image}`;
  return [
    ...(registriesConf ? ["--registries-conf", registriesConf] : []),
    "copy",
    "--quiet",
    ref,
    `oci:${layout}:base`,
  ];
}

export function umociArgs(layout: string, rootfs: string): string[] {
  return ["raw", "unpack", "--image", `${layout}:base`, rootfs];
}

export async function pullAndUnpack(
  image: string,
  scratch: string,
  rootfs: string,
  options: { signal?: AbortSignal; registriesConf?: string } = {},
) {
  const opts = options.signal ? { signal: options.signal } : {};
  try {
    await run("skopeo", skopeoArgs(image, scratch, options.registriesConf), opts);
    // umoci creates the root directory itself and refuses an existing one.
    await rm(rootfs, { recursive: true, force: true });
    await run("umoci", umociArgs(scratch, rootfs), opts);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
