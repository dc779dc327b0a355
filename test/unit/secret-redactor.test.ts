import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedactor, MIN_SECRET_LENGTH, REDACTED, secretValues } from "../../src/plan/redact.js";
import { loadRedactor } from "../../src/builder/secret-redactor.js";

describe("secret redactor", () => {
  it("hides each string of a YAML or JSON Secret file, and the file as a whole", () => {
    const values = secretValues('db_password: "s3cr3t-pass"\nnested:\n  - token: abcdef123456\nport: 5432\n');
    expect(values).toEqual(expect.arrayContaining(["s3cr3t-pass", "abcdef123456"]));
    const redact = createRedactor(values);
    expect(redact("connecting with s3cr3t-pass and abcdef123456 on 5432")).toBe(
      `connecting with ${REDACTED} and ${REDACTED} on 5432`,
    );
  });

  it("hides a value as it appears escaped inside JSON, and a longer secret whole", () => {
    const redact = createRedactor(['pa"ss\\word', "token-1234", "token-1234-and-more"]);
    const line = JSON.stringify({ msg: 'the pa"ss\\word leaked', t: "token-1234-and-more" });
    expect(line).not.toContain('pa"ss\\word');
    expect(redact(line)).toBe(JSON.stringify({ msg: `the ${REDACTED} leaked`, t: REDACTED }));
  });

  it(`leaves strings shorter than ${MIN_SECRET_LENGTH} characters alone`, () => {
    const redact = createRedactor(secretValues("enabled: true\nuser: bob\n"));
    expect(redact("user bob is enabled: true")).toBe("user bob is enabled: true");
  });

  it("treats regular-expression characters in a secret literally", () => {
    const redact = createRedactor(["a.b*c+d?(e)"]);
    expect(redact("x a.b*c+d?(e) y aXbbc+d(e)")).toBe(`x ${REDACTED} y aXbbc+d(e)`);
  });

  describe("over a secrets directory", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), "bib-redact-"));
      // As Kubernetes projects a Secret: keys are symlinks into a `..data` directory.
      await mkdir(path.join(dir, "..2026_11_24"));
      await writeFile(path.join(dir, "..2026_11_24", "aws.AWS_SECRET_ACCESS_KEY"), "wJalrXUtnFEMIK7MDENG\n");
      await symlink("..2026_11_24", path.join(dir, "..data"));
      await symlink("..data/aws.AWS_SECRET_ACCESS_KEY", path.join(dir, "aws.AWS_SECRET_ACCESS_KEY"));
      await writeFile(path.join(dir, "provisioner-0.extra-vars"), '{"api_token":"tok-998877"}');
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("hides every key's values, in what pino writes too", async () => {
      const redact = await loadRedactor(dir);
      const lines: string[] = [];
      const log = pino(
        { hooks: { streamWrite: redact } },
        { write: (line: string) => void lines.push(line) },
      );
      log.info({ out: "token tok-998877" }, "key wJalrXUtnFEMIK7MDENG in output");
      expect(lines.join("")).not.toMatch(/tok-998877|wJalrXUtnFEMIK7MDENG/);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        out: `token ${REDACTED}`,
        msg: `key ${REDACTED} in output`,
      });
    });

    it("changes nothing when there is no secrets directory", async () => {
      const redact = await loadRedactor(path.join(dir, "missing"));
      expect(redact("tok-998877")).toBe("tok-998877");
    });
  });
});
