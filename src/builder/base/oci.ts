// An OCI image base on one machine: skopeo copies the image into an OCI layout, umoci unpacks it
// (whiteouts applied, owners kept). In the Pod the kubelet pulls instead (see copier.ts).
import { rm } from "node:fs/promises";
import { run } from "../../util/exec.js";

export function skopeoArgs(image: string, layout: string): string[] {
  const ref = image.includes("://") ? image : `docker://${image}`;
  return ["copy", "--quiet", ref, `oci:${layout}:base`];
}

export function umociArgs(layout: string, rootfs: string): string[] {
  return ["raw", "unpack", "--image", `${layout}:base`, rootfs];
}

export async function pullAndUnpack(image: string, scratch: string, rootfs: string, signal?: AbortSignal) {
  const opts = signal ? { signal } : {};
  try {
    await run("skopeo", skopeoArgs(image, scratch), opts);
    // umoci creates the root directory itself and refuses an existing one.
    await rm(rootfs, { recursive: true, force: true });
    await run("umoci", umociArgs(scratch, rootfs), opts);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
