import { describe, expect, it } from "vitest";
import { patchCoreImage, patchMbr } from "../../src/builder/disk/bios-boot.js";
import { diskIds, fatUuid } from "../../src/builder/disk/ids.js";
import {
  diskBytesForRoot,
  diskLayout,
  ESP_BYTES,
  ext4BytesNeeded,
  MiB,
  PARTITION_TYPE,
  SECTOR,
  sfdiskScript,
} from "../../src/builder/disk/layout.js";
import { tooSmallMessage } from "../../src/builder/disk/too-small.js";

const GiB = 1024 * MiB;

describe("diskLayout", () => {
  it.each([
    { requested: 4 * GiB, disk: 4 * GiB, rootOffset: 65 * MiB, rootBytes: 4 * GiB - 65 * MiB - MiB },
    { requested: 512 * MiB, disk: 512 * MiB, rootOffset: 65 * MiB, rootBytes: 512 * MiB - 66 * MiB },
    // 10^9 bytes is not a whole MiB: the disk is rounded up (Azure's VHD needs whole MiB too).
    { requested: 1e9, disk: 954 * MiB, rootOffset: 65 * MiB, rootBytes: 954 * MiB - 66 * MiB },
  ])("$requested bytes: ESP at 1 MiB, root after it up to the last whole MiB", (row) => {
    const layout = diskLayout(row.requested);
    expect(layout.diskBytes).toBe(row.disk);
    expect(layout.esp).toEqual({ offset: MiB, bytes: ESP_BYTES });
    expect(layout.root).toEqual({ offset: row.rootOffset, bytes: row.rootBytes });
  });

  it("keeps the backup GPT (last 33 sectors) outside the root partition", () => {
    for (const size of [512 * MiB, 3 * GiB + 7, 100 * GiB]) {
      const { diskBytes, root } = diskLayout(size);
      expect(root.offset + root.bytes).toBeLessThanOrEqual(diskBytes - 33 * SECTOR);
      expect(root.offset % MiB).toBe(0);
      expect(root.bytes % MiB).toBe(0);
    }
  });

  it("diskBytesForRoot is the smallest disk whose root holds that much", () => {
    for (const root of [100 * MiB, 1.5 * GiB, 7 * GiB + 3]) {
      const disk = diskBytesForRoot(root);
      expect(diskLayout(disk).root.bytes).toBeGreaterThanOrEqual(root);
      expect(diskLayout(disk - MiB).root.bytes).toBeLessThan(root);
    }
  });
});

describe("diskLayout per boot mode", () => {
  it.each([
    { mode: "uefi", bios: undefined, esp: { offset: MiB, bytes: 64 * MiB }, root: 65 * MiB },
    { mode: "bios", bios: { offset: MiB, bytes: MiB }, esp: undefined, root: 2 * MiB },
    {
      mode: "hybrid",
      bios: { offset: MiB, bytes: MiB },
      esp: { offset: 2 * MiB, bytes: 64 * MiB },
      root: 66 * MiB,
    },
  ] as const)("$mode: BIOS boot $bios, ESP $esp, root at $root", ({ mode, bios, esp, root }) => {
    const layout = diskLayout(2 * GiB, mode);
    expect(layout.biosBoot).toEqual(bios);
    expect(layout.esp).toEqual(esp);
    expect(layout.root.offset).toBe(root);
    expect(layout.root.offset + layout.root.bytes).toBe(2 * GiB - MiB);
    expect(diskLayout(diskBytesForRoot(layout.root.bytes, mode), mode).root.bytes).toBe(layout.root.bytes);
  });

  it("hybrid lists the BIOS boot partition first, then the ESP, then root", () => {
    const ids = diskIds("x");
    const lines = sfdiskScript(diskLayout(GiB, "hybrid"), ids).split("\n");
    expect(lines[4]).toBe(
      `start=2048, size=2048, type=${PARTITION_TYPE.biosBoot}, uuid=${ids.biosPartUuid}, name="BIOS boot"`,
    );
    expect(lines[5]).toMatch(/^start=4096, size=131072, type=C12A7328/);
    expect(lines[6]).toMatch(/^start=135168, /);
  });
});

describe("BIOS boot sectors", () => {
  const mbr = Buffer.alloc(512, 0xaa);
  const bootImg = Buffer.alloc(512, 0x11);

  it("patchMbr copies GRUB's code, points it at core.img and keeps signature and partition table", () => {
    const out = patchMbr(mbr, bootImg, 2048);
    expect(out.readBigUInt64LE(0x5c)).toBe(2048n);
    expect(out.readUInt16LE(0x66)).toBe(0x9090);
    expect(out[0]).toBe(0x11);
    expect(out.subarray(440)).toEqual(mbr.subarray(440));
    expect(mbr[0]).toBe(0xaa);
  });

  it("patchCoreImage makes the first sector load the remaining sectors that follow it", () => {
    const core = Buffer.alloc(512 * 3 + 100, 0);
    const out = patchCoreImage(core, 2048);
    expect(out.readBigUInt64LE(500)).toBe(2049n);
    expect(out.readUInt16LE(508)).toBe(3);
    expect(out.length).toBe(core.length);
  });

  it("rejects buffers that are not sectors", () => {
    expect(() => patchMbr(Buffer.alloc(100), bootImg, 1)).toThrow(/512 bytes/);
  });
});

describe("sfdiskScript", () => {
  it("names both partitions with their offsets in sectors, types and fixed GUIDs", () => {
    const ids = diskIds("0123456789abcdef");
    const script = sfdiskScript(diskLayout(2 * GiB), ids);
    expect(script.split("\n")).toEqual([
      "label: gpt",
      `label-id: ${ids.diskGuid}`,
      "unit: sectors",
      "first-lba: 2048",
      `start=2048, size=131072, type=${PARTITION_TYPE.esp}, uuid=${ids.espPartUuid}, name="EFI System Partition"`,
      `start=133120, size=${(2 * GiB - 66 * MiB) / SECTOR}, type=${PARTITION_TYPE.rootX86_64}, uuid=${ids.rootPartUuid}, name="root"`,
      "",
    ]);
  });
});

describe("diskIds", () => {
  it("is stable per build and different between builds", () => {
    expect(diskIds("a")).toEqual(diskIds("a"));
    expect(diskIds("a").rootFsUuid).not.toBe(diskIds("b").rootFsUuid);
  });

  it("makes version-4 RFC 4122 UUIDs and an 8-digit FAT volume id", () => {
    const ids = diskIds("build");
    for (const uuid of [ids.rootFsUuid, ids.diskGuid, ids.espPartUuid, ids.rootPartUuid]) {
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i);
    }
    expect(ids.espVolumeId).toMatch(/^[0-9A-F]{8}$/);
    expect(fatUuid("ABCD1234")).toBe("ABCD-1234");
  });
});

describe("too small", () => {
  it("estimates more than the tree itself and grows with it", () => {
    const small = ext4BytesNeeded({ bytes: 100 * MiB, inodes: 5000 });
    expect(small).toBeGreaterThan(100 * MiB);
    expect(ext4BytesNeeded({ bytes: 900 * MiB, inodes: 20000 })).toBeGreaterThan(small + 800 * MiB);
  });

  it("names spec.disk.size, the tree size and the size needed", () => {
    const message = tooSmallMessage(512 * MiB, { bytes: 700 * MiB, inodes: 30000 });
    expect(message).toMatch(/^spec\.disk\.size 512Mi is too small/);
    expect(message).toContain("the tree takes 700Mi (30000 files)");
    const needed = Number(/at least (\d+)Mi/.exec(message)?.[1]);
    expect(needed * MiB).toBe(diskBytesForRoot(ext4BytesNeeded({ bytes: 700 * MiB, inodes: 30000 })));
  });
});
