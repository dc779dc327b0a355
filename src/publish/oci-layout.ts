// A KubeVirt containerDisk as an OCI image layout, written without Docker: one uncompressed tar
// layer holding `disk/<name>.qcow2` owned by 107:107 (the qemu user KubeVirt runs as), a config
// and a manifest. `skopeo copy oci:DIR:TAG docker://REPO:TAG` pushes it.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";

export const KUBEVIRT_UID = 107;
export const MEDIA = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/**
 * One ustar header. Sizes from 8 GiB up do not fit ustar's 11 octal digits and use the GNU
 * base-256 form, which Go's archive/tar (registries, containerd) and GNU tar read.
 */
export function tarHeader(entry: {
  name: string;
  size: number;
  mode: number;
  type: "file" | "dir";
  mtime: number;
  uid: number;
  gid: number;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar entry name too long: ${entry.name}`);
  h.write(entry.name, 0, 100, "utf8");
  h.write(octal(entry.mode, 8), 100, "ascii");
  h.write(octal(entry.uid, 8), 108, "ascii");
  h.write(octal(entry.gid, 8), 116, "ascii");
  if (entry.size < 8 ** 11) {
    h.write(octal(entry.size, 12), 124, "ascii");
  } else {
    h[124] = 0x80;
    let n = BigInt(entry.size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(n & 0xffn);
      n >>= 8n;
    }
  }
  h.write(octal(entry.mtime, 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write(entry.type === "dir" ? "5" : "0", 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + " ", 148, "ascii");
  return h;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

async function writeBlob(dir: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(data);
  const hex = createHash("sha256").update(bytes).digest("hex");
  await writeFile(path.join(dir, "blobs", "sha256", hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** Streams the layer tar (dir entry, disk entry, padding, end) into the layout while hashing it. */
async function writeLayer(
  dir: string,
  disk: string,
  diskName: string,
  mtime: number,
): Promise<{ digest: string; size: number }> {
  const { size } = await stat(disk);
  const temp = path.join(dir, "blobs", "sha256", ".layer.tmp");
  const hash = createHash("sha256");
  let written = 0;
  const out = createWriteStream(temp);
  const emit = (b: Buffer) => {
    hash.update(b);
    written += b.length;
    return b;
  };
  const owner = { uid: KUBEVIRT_UID, gid: KUBEVIRT_UID, mtime };
  const head = Buffer.concat([
    tarHeader({ name: "disk/", size: 0, mode: 0o555, type: "dir", ...owner }),
    tarHeader({ name: `disk/${diskName}`, size, mode: 0o444, type: "file", ...owner }),
  ]);
  out.write(emit(head));
  const tail = Buffer.alloc(((BLOCK - (size % BLOCK)) % BLOCK) + 2 * BLOCK);
  await pipeline(
    createReadStream(disk),
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        done(null, emit(chunk));
      },
      flush(done) {
        done(null, emit(tail));
      },
    }),
    out,
  );
  const hex = hash.digest("hex");
  await rename(temp, path.join(dir, "blobs", "sha256", hex));
  return { digest: `sha256:${hex}`, size: written };
}

/** Writes the OCI layout for `disk` into `dir`; returns the manifest descriptor. */
export async function writeContainerDiskLayout(
  dir: string,
  opts: { disk: string; diskName: string; tag: string; architecture: "amd64" | "arm64"; created: number },
): Promise<Descriptor> {
  await mkdir(path.join(dir, "blobs", "sha256"), { recursive: true });
  const layer = await writeLayer(dir, opts.disk, opts.diskName, opts.created);
  const created = new Date(opts.created * 1000).toISOString();
  const config = await writeBlob(
    dir,
    JSON.stringify({
      created,
      architecture: opts.architecture,
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: [layer.digest] },
      history: [{ created, created_by: "bib publish.oci (KubeVirt containerDisk)" }],
    }),
  );
  const manifest = await writeBlob(
    dir,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, ...config },
      layers: [{ mediaType: MEDIA.layer, ...layer }],
    }),
  );
  const descriptor: Descriptor = {
    mediaType: MEDIA.manifest,
    ...manifest,
    annotations: { "org.opencontainers.image.ref.name": opts.tag },
  };
  await writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [descriptor] }),
  );
  return descriptor;
}
