import { describe, expect, it } from "vitest";
import { grubDefaultsFileOrder, parseGrubDefaults } from "../../src/builder/disk/grub-defaults.js";

const parse = (...texts: string[]) =>
  parseGrubDefaults(
    texts.map((text, i) => ({ name: i === 0 ? "/etc/default/grub" : `/etc/default/grub.d/${i}.cfg`, text })),
  );

describe("the image's /etc/default/grub, read without a shell", () => {
  it("reads Debian's default file and appends grub.d files in order, as grub-mkconfig sources them", () => {
    const debian = [
      "# If you change this file, run 'update-grub' afterwards",
      "GRUB_DEFAULT=0",
      "GRUB_TIMEOUT=5",
      "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`",
      'GRUB_CMDLINE_LINUX_DEFAULT="quiet"',
      'GRUB_CMDLINE_LINUX=""',
    ].join("\n");
    const roleFile = 'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} console=ttyS0 net.ifnames=0"\n';
    const later =
      "export GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT audit=1\" # audit\nGRUB_TIMEOUT='0'\n";
    expect(parse(debian, roleFile, later)).toEqual({
      ok: true,
      value: { cmdline: ["console=ttyS0", "net.ifnames=0", "quiet", "audit=1"], timeout: 0 },
    });
  });

  it("keeps quoted and escaped text literal", () => {
    expect(parse("GRUB_CMDLINE_LINUX='a=$HOME' b=\"\\$x\"")).toMatchObject({ ok: false });
    expect(parse("GRUB_CMDLINE_LINUX='a=$HOME'")).toEqual({ ok: true, value: { cmdline: ["a=$HOME"] } });
    expect(parse('GRUB_CMDLINE_LINUX="x=\\$y"')).toEqual({ ok: true, value: { cmdline: ["x=$y"] } });
  });

  it("refuses, naming file and line, what needs a shell", () => {
    for (const text of [
      'GRUB_CMDLINE_LINUX="$(cat /proc/cmdline)"',
      "GRUB_CMDLINE_LINUX=`uname -r`",
      'GRUB_CMDLINE_LINUX="$OTHER x"',
      'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX:-x}"',
      'GRUB_CMDLINE_LINUX="a"; rm -rf /',
      'if true; then GRUB_CMDLINE_LINUX="a"; fi',
      'GRUB_CMDLINE_LINUX="unterminated',
    ]) {
      const r = parse("", text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/^\/etc\/default\/grub\.d\/1\.cfg line 1: /);
    }
  });

  it("needs a whole number of seconds for GRUB_TIMEOUT", () => {
    expect(parse("GRUB_TIMEOUT=-1")).toMatchObject({
      ok: false,
      error: expect.stringMatching(/GRUB_TIMEOUT/),
    });
  });

  it("orders grub.d's .cfg files bytewise after /etc/default/grub", () => {
    expect(grubDefaultsFileOrder(["b.cfg", "README", "10-a.cfg", "A.cfg"])).toEqual([
      "/etc/default/grub",
      "/etc/default/grub.d/10-a.cfg",
      "/etc/default/grub.d/A.cfg",
      "/etc/default/grub.d/b.cfg",
    ]);
  });
});
