// publish.oci: pushes the qcow2 as a KubeVirt containerDisk with skopeo (no Docker daemon).
// Credentials: the `.dockerconfigjson` file given to skopeo as --authfile; `insecure` turns TLS
// verification off (plain HTTP or self-signed in-cluster registries).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { BuildResult } from "../api/schema.js";
import type { PublishPlan } from "../plan/plan.js";
import { CommandError, run } from "../util/exec.js";
import { writeContainerDiskLayout } from "./oci-layout.js";
import type { PublishContext, Publisher } from "./types.js";

type OciPlan = NonNullable<PublishPlan["oci"]>;

export function ociTarget(oci: Pick<OciPlan, "repository">): string {
  return `publish.oci (${oci.repository})`;
}

/** skopeo arguments for registry access: auth file and TLS, for `prefix` "dest" / "src" / "" (delete). */
export function registryArgs(oci: OciPlan, secretsDir: string, prefix: "dest" | "src" | ""): string[] {
  const args: string[] = [];
  if (oci.credentials) args.push("--authfile", path.join(secretsDir, oci.credentials.dockerConfigJson));
  if (oci.insecure) args.push(prefix ? `--${prefix}-tls-verify=false` : "--tls-verify=false");
  return args;
}

export function ociLocation(repository: string, tag: string, digest: string): string {
  return `oci://${repository}:${tag}@${digest}`;
}

export function parseOciLocation(
  location: string,
): { repository: string; tag: string; digest: string } | undefined {
  const m = /^oci:\/\/(.+):([\w][\w.-]{0,127})@(sha256:[0-9a-f]{64})$/.exec(location);
  return m ? { repository: m[1]!, tag: m[2]!, digest: m[3]! } : undefined;
}

/** skopeo's registry errors, turned into the message a user can act on. */
export function describeSkopeoError(target: string, action: string, error: unknown): Error {
  const text = error instanceof CommandError ? error.outputTail : String(error);
  if (/unauthorized|authentication required|401|denied/i.test(text)) {
    return new Error(`${target}: credentials rejected by the registry: ${lastLine(text)}`, { cause: error });
  }
  if (/http: server gave HTTP response to HTTPS client|x509|certificate/i.test(text)) {
    return new Error(
      `${target}: TLS failed (set publish.oci.insecure for plain-HTTP or self-signed registries): ${lastLine(text)}`,
      {
        cause: error,
      },
    );
  }
  return new Error(`${target}: ${action} failed: ${lastLine(text)}`, { cause: error });
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

export function ociPublisher(): Publisher {
  return {
    target: "oci",
    async publish(ctx: PublishContext): Promise<BuildResult> {
      const oci = ctx.plan.publish.oci;
      if (!oci) return { artifacts: [], images: [] };
      const target = ociTarget(oci);
      const qcow2 = ctx.artifacts.find((a) => a.format === "qcow2");
      if (!qcow2) throw new Error(`${target}: no qcow2 artifact to push as a containerDisk`);
      // Beside the artifact: the layer is as large as the disk, and the workspace is sized for disks.
      const layout = await mkdtemp(path.join(path.dirname(qcow2.path), ".oci-"));
      try {
        await writeContainerDiskLayout(layout, {
          disk: qcow2.path,
          diskName: `${ctx.plan.buildName}.qcow2`,
          tag: oci.tag,
          architecture: ctx.plan.publish.aws?.architecture === "arm64" ? "arm64" : "amd64",
          created: ctx.timestamp,
        });
        const digestFile = path.join(layout, "pushed-digest");
        const reference = `${oci.repository}:${oci.tag}`;
        ctx.progress.update(`oci ${reference}`, 0, qcow2.size, "bytes");
        await run(
          "skopeo",
          [
            "copy",
            "--retry-times",
            "3",
            "--digestfile",
            digestFile,
            ...registryArgs(oci, ctx.secretsDir, "dest"),
            `oci:${layout}:${oci.tag}`,
            `docker://${reference}`,
          ],
          { signal: ctx.signal, captureStdout: false },
        ).catch((e: unknown) => {
          throw describeSkopeoError(target, "push", e);
        });
        ctx.progress.update(`oci ${reference}`, qcow2.size, qcow2.size, "bytes");
        const digest = (await readFile(digestFile, "utf8")).trim();
        ctx.log.info({ reference, digest }, "containerDisk pushed");
        return {
          artifacts: [
            {
              format: "qcow2",
              size: qcow2.size,
              sha256: qcow2.sha256,
              location: ociLocation(oci.repository, oci.tag, digest),
            },
          ],
          // imageId is the immutable pull reference, what a VirtualMachine's containerDisk names.
          images: [{ provider: "oci", name: reference, digest, imageId: `${oci.repository}@${digest}` }],
        };
      } finally {
        await rm(layout, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Deletes the pushed manifest (and with it the tag). Gone already counts as done; a registry that
 * does not allow deletes answers `unsupported`, which is reported, not retried.
 */
export async function deleteOciManifest(
  oci: OciPlan,
  secretsDir: string,
  location: { repository: string; digest: string },
): Promise<"deleted" | "gone" | "unsupported"> {
  try {
    await run("skopeo", [
      "delete",
      ...registryArgs(oci, secretsDir, ""),
      `docker://${location.repository}@${location.digest}`,
    ]);
    return "deleted";
  } catch (error) {
    const text = error instanceof CommandError ? error.outputTail : String(error);
    if (/unauthorized|authentication required|denied/i.test(text))
      throw describeSkopeoError(ociTarget(oci), "delete", error);
    // skopeo says "Image may not exist" for a 404 on DELETE.
    if (/manifest unknown|MANIFEST_UNKNOWN|Image may not exist|not found|404/i.test(text)) return "gone";
    if (/UNSUPPORTED|405|method not allowed/i.test(text)) return "unsupported";
    throw describeSkopeoError(ociTarget(oci), "delete", error);
  }
}
