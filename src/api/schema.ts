// The ImageBuild API (bib.dev/v1alpha1). This zod schema is the single source of truth: the CRD's
// openAPIV3Schema is generated from it (`npm run generate`), the hooks and `bib validate` parse with
// it. Objects are strict so that a typo is an error here, as kubectl's strict field validation makes
// it one on apply. Rules the API server must also enforce carry a CEL rule in their meta.
import { z } from "zod";
import { nestedDeeperThan } from "./nesting.js";
import { QUANTITY_PATTERN, quantityToBytes } from "./quantity.js";
import { STAGES } from "./constants.js";
import {
  CEL as K8S_CEL,
  nodeSelectorProblems,
  resourceAmountsProblems,
  resourceNamesProblems,
  tolerationProblems,
} from "./k8s-rules.js";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const SHA256 = /^[0-9a-f]{64}$/;
// Debian-style package names, optionally pinned (`name=version`) or with an arch qualifier.
const PACKAGE = /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$/;
// OCI references: [registry[:port]/]path[:tag][@sha256:digest], lower-case path components.
const IMAGE_REF =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;
const REPOSITORY =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const AWS_ACCOUNT = /^\d{12}$/;
const SUITE = /^[a-z][a-z0-9-]*$/;
const MODE = /^0?[0-7]{3,4}$/;
/**
 * extraVars is the one part of a spec that may nest freely. Ansible variables hardly nest beyond a
 * dozen levels; past a few thousand, every recursive walk (hashing, JSON, logging) overflows the stack.
 */
export const MAX_EXTRA_VARS_NESTING = 64;
const GO_DURATION_FREE_SECONDS = { min: 1, max: 7 * 24 * 3600 };

/** Template variables allowed in `publish.aws.name`; see README "AMI names". */
export const AMI_NAME_VARS = ["Name", "Namespace", "BuildID", "Timestamp", "Date"] as const;
const AMI_NAME_TEMPLATE_VAR = /\{\{\s*\.([A-Za-z]+)\s*\}\}/g;

const name = (what: string) =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(DNS1123_SUBDOMAIN, `must be a valid ${what} name (lower-case DNS-1123 subdomain)`);

const key = z.string().min(1).max(253).regex(CONFIG_KEY, "must consist of alphanumerics, '-', '_' or '.'");

const secretKeyRef = z.strictObject({ name: name("Secret"), key });
const configMapKeyRef = z.strictObject({ name: name("ConfigMap"), key });
const credentialsSecretRef = z.strictObject({ name: name("Secret") });

// The CRD cannot run `new URL`; it gets a pattern on the scheme so the API server rejects the same
// scheme mistakes (zod's refine, which also checks the URL parses, stays the stricter check).
const url = (schemes: string[]) =>
  z
    .string()
    .max(2048)
    .meta({ pattern: `^(${schemes.join("|")}):` })
    .refine(
      (value) => {
        try {
          return schemes.includes(new URL(value).protocol.replace(/:$/, ""));
        } catch {
          return false;
        }
      },
      `must be a URL with scheme ${schemes.join(" or ")}`,
    );

interface CelRule {
  rule: string;
  message: string;
  /** Kubernetes >= 1.28: the field the error is reported on, relative to the rule's node. */
  fieldPath?: string;
}
const cel = (...rules: CelRule[]) => ({ "x-kubernetes-validations": rules });

/** Fields of `object` of which exactly one must be set: a zod refinement plus the matching CEL rule. */
function exactlyOneOf<T extends z.ZodObject>(object: T, fields: string[]) {
  const message = `exactly one of ${fields.join(", ")} must be set`;
  return object
    .superRefine((value, ctx) => {
      const set = fields.filter((f) => (value as Record<string, unknown>)[f] !== undefined);
      if (set.length !== 1) ctx.addIssue({ code: "custom", message: `${message} (found ${set.length})` });
    })
    .meta(
      cel({ rule: `[${fields.map((f) => `has(self.${f})`).join(", ")}].filter(x, x).size() == 1`, message }),
    );
}

const quantity = z
  .union([z.string().regex(new RegExp(QUANTITY_PATTERN), "must be a quantity such as 8Gi"), z.int().min(0)])
  .meta({ "x-kubernetes-int-or-string": true, pattern: QUANTITY_PATTERN });

// Container resources take the full Kubernetes quantity grammar (resource.Quantity, the pattern
// controller-gen emits, without its sign: requests and limits cannot be negative): CPU in millicores
// ("500m") and decimal exponents, which disk sizes do not need.
const RESOURCE_QUANTITY_PATTERN =
  "^(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
const resourceQuantity = z
  .union([
    z.string().regex(new RegExp(RESOURCE_QUANTITY_PATTERN), "must be a quantity such as 500m or 2Gi"),
    z.int().min(0),
  ])
  .meta({ "x-kubernetes-int-or-string": true, pattern: RESOURCE_QUANTITY_PATTERN });

export const baseSchema = exactlyOneOf(
  z.strictObject({
    image: z
      .string()
      .max(512)
      .regex(IMAGE_REF, "must be an OCI image reference")
      .describe("OCI image whose filesystem becomes the image root, e.g. docker.io/library/debian:bookworm.")
      .optional(),
    debootstrap: z
      .strictObject({
        suite: z
          .string()
          .max(63)
          .regex(SUITE, "must be a Debian suite or codename such as bookworm")
          .describe("Debian suite or codename, e.g. bookworm."),
        mirror: url(["http", "https", "file"])
          .describe("Debian mirror URL; default: the distribution's own.")
          .optional(),
        variant: z.enum(["minbase", "buildd", "fakechroot"]).describe("debootstrap --variant.").optional(),
        include: z
          .array(z.string().max(128).regex(PACKAGE, "must be a package name"))
          .max(500)
          .describe("Extra packages debootstrap installs.")
          .optional(),
      })
      .describe("Bootstrap a Debian root with debootstrap.")
      .optional(),
    tarball: z
      .strictObject({
        url: url(["http", "https", "file"]),
        sha256: z
          .string()
          .regex(SHA256, "must be 64 lower-case hex digits")
          .describe("SHA-256 of the tarball, 64 lower-case hex digits; checked before use."),
      })
      .describe("A root filesystem tarball (http, https or file URL) and its SHA-256.")
      .optional(),
  }),
  ["image", "debootstrap", "tarball"],
).describe("Where the image root comes from: exactly one of image, debootstrap, tarball.");

const fileSchema = z.strictObject({
  path: z
    .string()
    .max(4096)
    .regex(/^\/[^\0]*$/, "must be an absolute path")
    .refine((p) => !p.split("/").includes(".."), "must not contain '..'")
    .refine((p) => !p.endsWith("/"), "must name a file, not a directory")
    .describe("Absolute path of the file in the image."),
  content: z
    .string()
    .max(512 * 1024)
    .describe("The file's content."),
  mode: z
    .string()
    .regex(MODE, "must be an octal mode such as 0644")
    .describe("Octal file mode, e.g. 0644.")
    .optional(),
});

const ansibleSchema = exactlyOneOf(
  z.strictObject({
    playbook: z
      .string()
      .min(1)
      .max(512 * 1024)
      .describe("The playbook, inline.")
      .optional(),
    configMapRef: configMapKeyRef.describe("A ConfigMap key holding the playbook.").optional(),
    git: z
      .strictObject({
        url: url(["https", "http", "ssh", "git", "file"]),
        ref: z
          .string()
          .max(255)
          .regex(/^[\w./-]+$/, "must be a branch, tag or commit")
          .optional(),
        path: z
          .string()
          .max(1024)
          .regex(/^[^/\0][^\0]*$/, "must be a path relative to the repository root")
          .refine((p) => !p.split("/").includes(".."), "must not contain '..'"),
      })
      .describe("A playbook in a Git repository: url, ref (branch, tag or commit) and path.")
      .optional(),
    extraVars: z
      .record(z.string(), z.unknown())
      .superRefine((vars, ctx) => {
        if (nestedDeeperThan(vars, MAX_EXTRA_VARS_NESTING)) {
          ctx.addIssue({
            code: "custom",
            message: `nested more than ${MAX_EXTRA_VARS_NESTING} levels deep (the limit for extraVars)`,
          });
        }
      })
      .meta({ "x-kubernetes-preserve-unknown-fields": true })
      .describe("Free-form Ansible extra variables.")
      .optional(),
    extraVarsSecretRef: secretKeyRef
      .describe("A Secret key holding sensitive extra variables as JSON.")
      .optional(),
  }),
  ["playbook", "configMapRef", "git"],
).describe("Run an Ansible playbook against the image root: exactly one of playbook, configMapRef, git.");

const shellSchema = z
  .strictObject({
    script: z
      .string()
      .min(1)
      .max(512 * 1024)
      .describe("Run with /bin/sh inside the image root."),
  })
  .describe("Run a shell script inside the image root.");

const provisionerSchema = exactlyOneOf(
  z.strictObject({
    name: z.string().max(63).regex(DNS1123_LABEL, "must be a lower-case DNS-1123 label").optional(),
    ansible: ansibleSchema.optional(),
    shell: shellSchema.optional(),
  }),
  ["ansible", "shell"],
).describe("One provisioning step, run inside the image root: exactly one of ansible, shell.");

/** EC2 allows 50 tags per resource; bib adds up to 4 (Name, build id, ImageBuild, source sha256). */
export const MAX_AWS_TAGS = 46;

/** The formats that are disks; the only other one, tgz, is the tree as an archive. */
export const DISK_FORMATS = ["qcow2", "raw", "vmdk", "vhd"] as const;
export const FORMATS = [...DISK_FORMATS, "tgz"] as const;
export type Format = (typeof FORMATS)[number];
export type DiskFormat = (typeof DISK_FORMATS)[number];

/** Declared with the enum because the schema checks it; the other format decisions: src/plan/formats.ts. */
export function isDiskFormat(format: Format): format is DiskFormat {
  return (DISK_FORMATS as readonly Format[]).includes(format);
}

export const MIN_DISK_BYTES = 512 * 2 ** 20;
export const MAX_DISK_BYTES = 2 * 2 ** 40;

export const diskSchema = z.strictObject({
  size: quantity
    .refine(
      (q) => {
        const bytes = quantityToBytes(q);
        return bytes !== undefined && bytes >= MIN_DISK_BYTES && bytes <= MAX_DISK_BYTES;
      },
      // Only for a well-formed quantity: "8GB" gets one error ("must be a quantity"), not two.
      { message: "must be between 512Mi and 2Ti", when: (payload) => payload.issues.length === 0 },
    )
    .describe("Disk size, a Kubernetes quantity between 512Mi and 2Ti (default 4Gi).")
    .default("4Gi"),
  filesystem: z.enum(["ext4", "xfs"]).default("ext4"),
  bootMode: z.enum(["uefi", "bios", "hybrid"]).default("uefi"),
});

const bootCheckSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[^\n\r]+$/, "must be one line")
    .describe("Names the check in the build log, the summary and failure messages."),
  run: z.string().min(1).max(4096).describe("Shell text run by /bin/sh as root in the booted guest."),
});

export const validateSchema = z.strictObject({
  boot: z
    .strictObject({
      enabled: z.boolean().default(true),
      timeoutSeconds: z.int().min(30).max(3600).default(600),
      expect: z
        .array(z.string().min(1).max(256))
        .max(32)
        .describe('Console patterns that must all appear (default ["login:"]).')
        .default(["login:"]),
      checks: z
        .array(bootCheckSchema)
        .max(32)
        .superRefine((checks, ctx) => {
          const seen = new Set<string>();
          for (const c of checks) {
            if (seen.has(c.name))
              ctx.addIssue({ code: "custom", message: `check names must be unique: "${c.name}"` });
            seen.add(c.name);
          }
        })
        .meta(
          cel({
            rule: "self.all(c, self.exists_one(d, d.name == c.name))",
            message: "check names must be unique",
          }),
        )
        .describe(
          "Commands run as root by /bin/sh inside the booted test VM, in order, after the expected patterns appeared; each must exit 0 before the boot timeout. Nothing they need is left in the image.",
        )
        .default([]),
    })
    .describe("Boot the disk image in QEMU before publishing (enabled by default).")
    .prefault({}),
});

// The same grammar as one regular expression, for the CRD: literal characters or a known template
// variable. The API server cannot name the unknown variable as the superRefine below does.
const AMI_NAME_PATTERN = `^(?:[a-zA-Z0-9()\\[\\]./_'@ -]|\\{\\{\\s*\\.(?:${AMI_NAME_VARS.join("|")})\\s*\\}\\})+$`;

const amiName = z
  .string()
  .min(3)
  .max(128)
  .meta({ pattern: AMI_NAME_PATTERN })
  .superRefine((template, ctx) => {
    for (const [, variable] of template.matchAll(AMI_NAME_TEMPLATE_VAR)) {
      if (!(AMI_NAME_VARS as readonly string[]).includes(variable!)) {
        ctx.addIssue({
          code: "custom",
          message: `unknown template variable {{.${variable}}}; known: ${AMI_NAME_VARS.map((v) => `{{.${v}}}`).join(", ")}`,
        });
      }
    }
    const literal = template.replace(AMI_NAME_TEMPLATE_VAR, "x");
    if (!/^[a-zA-Z0-9()[\]./\-_'@ ]+$/.test(literal)) {
      ctx.addIssue({
        code: "custom",
        message: "AMI names may contain only letters, digits, spaces and ( ) [ ] . / - _ ' @",
      });
    }
  });

export const publishSchema = z.strictObject({
  volume: z
    .strictObject({
      claimName: name("PersistentVolumeClaim"),
      path: z
        .string()
        .max(1024)
        .refine((p) => !p.split("/").includes(".."), "must not contain '..'")
        .default(""),
    })
    .describe("Copy the artifacts into a PersistentVolumeClaim, under path.")
    .optional(),
  s3: z
    .strictObject({
      bucket: z
        .string()
        .min(3)
        .max(63)
        .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, "must be a valid S3 bucket name"),
      prefix: z.string().max(512).default(""),
      region: z.string().regex(AWS_REGION, "must be an AWS region such as us-east-1").optional(),
      endpoint: url(["http", "https"]).optional(),
      forcePathStyle: z.boolean().optional(),
      credentialsSecretRef: credentialsSecretRef
        .describe("Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (optional AWS_SESSION_TOKEN).")
        .optional(),
    })
    .describe("Upload the artifacts to an S3 (or S3-compatible) bucket.")
    .optional(),
  oci: z
    .strictObject({
      repository: z.string().max(255).regex(REPOSITORY, "must be a repository such as registry/path/name"),
      tag: z.string().regex(TAG, "must be a valid tag").default("latest"),
      insecure: z.boolean().describe("Plain HTTP or unverified TLS (in-cluster registries).").default(false),
      credentialsSecretRef: credentialsSecretRef
        .describe("A kubernetes.io/dockerconfigjson Secret for the registry.")
        .optional(),
    })
    .describe("Push the qcow2 as a KubeVirt containerDisk image to repository:tag.")
    .optional(),
  aws: z
    .strictObject({
      region: z.string().regex(AWS_REGION, "must be an AWS region such as us-east-1"),
      name: amiName.describe(
        `AMI name; may use the template variables ${AMI_NAME_VARS.map((v) => `{{.${v}}}`).join(", ")}.`,
      ),
      description: z.string().max(255).optional(),
      architecture: z.enum(["x86_64", "arm64"]).default("x86_64"),
      bootMode: z.enum(["uefi", "legacy-bios", "uefi-preferred"]).default("uefi"),
      copyToRegions: z
        .array(z.string().regex(AWS_REGION, "must be an AWS region"))
        .max(32)
        .describe("Regions the AMI is copied to after it is registered.")
        .default([]),
      shareWithAccounts: z
        .array(z.string().regex(AWS_ACCOUNT, "must be a 12-digit AWS account id"))
        .max(100)
        .describe("AWS accounts given launch permission.")
        .default([]),
      public: z.boolean().describe("Make the AMI public.").default(false),
      // As tight as the strictest API that takes them: StartSnapshot (keys up to 127, values up to
      // 255 characters) and EC2 (no aws: prefix, 50 per resource, of which bib's own take up to 4).
      tags: z
        .record(z.string(), z.string().max(255))
        // Reported on the map, where the API server's CEL rule reports it too.
        .superRefine((tags, ctx) => {
          const keys = Object.keys(tags);
          if (keys.length > MAX_AWS_TAGS) {
            ctx.addIssue({
              code: "custom",
              message: `must have at most ${MAX_AWS_TAGS} tags, has ${keys.length}`,
            });
          }
          for (const key of keys) {
            if (key.length < 1 || key.length > 127) {
              ctx.addIssue({ code: "custom", message: `tag key "${key}" must be 1 to 127 characters` });
            } else if (/^aws:/i.test(key)) {
              ctx.addIssue({
                code: "custom",
                message: `tag key "${key}" must not start with aws: (reserved by AWS)`,
              });
            }
          }
        })
        .meta({
          maxProperties: MAX_AWS_TAGS,
          ...cel({
            rule: "self.all(k, size(k) >= 1 && size(k) <= 127 && !k.matches('^[aA][wW][sS]:'))",
            message: "tag keys must be 1 to 127 characters and must not start with aws:",
          }),
        })
        .describe(
          "Tags for the AMI and its snapshots (at most 46; keys up to 127 characters, values up to 255).",
        )
        .default({}),
      credentialsSecretRef: credentialsSecretRef
        .describe(
          "Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; omit to use IRSA (builder.serviceAccountName).",
        )
        .optional(),
    })
    .describe("Register the disk image as an AMI.")
    .optional(),
});

// Beyond the enums, Kubernetes' ValidateTolerations: reported on the toleration, where the CRD's
// CEL rules report them too.
const tolerationSchema = z
  .strictObject({
    key: z.string().max(317).optional(),
    operator: z.enum(["Exists", "Equal"]).optional(),
    value: z.string().max(63).optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z.int().optional(),
  })
  .superRefine((toleration, ctx) => {
    for (const message of tolerationProblems(toleration)) ctx.addIssue({ code: "custom", message });
  })
  .meta(cel(...K8S_CEL.toleration));

const MAX_NODE_SELECTOR_LABELS = 64;
const MAX_RESOURCES = 16;
const MAX_TOLERATIONS = 64;
/** Problems found by `check` as issues on the node itself, where the CRD's CEL rule reports them. */
const issuesOf =
  <T>(check: (value: T) => string[]) =>
  (value: T, ctx: z.RefinementCtx) => {
    for (const message of check(value)) ctx.addIssue({ code: "custom", message });
  };
const atMost = (max: number, what: string) => (map: Record<string, unknown>) => {
  const n = Object.keys(map).length;
  return n > max ? [`must have at most ${max} ${what}, has ${n}`] : [];
};
const resourceMap = z
  .record(z.string(), resourceQuantity)
  .superRefine(issuesOf(atMost(MAX_RESOURCES, "resources")))
  .superRefine(issuesOf(resourceNamesProblems))
  .meta({ maxProperties: MAX_RESOURCES, ...cel(K8S_CEL.resourceNames) });

export const builderSchema = z.strictObject({
  image: z
    .string()
    .max(512)
    .regex(IMAGE_REF, "must be an OCI image reference")
    .describe("The builder image; default: the release's own.")
    .optional(),
  resources: z
    .strictObject({
      requests: resourceMap.optional(),
      limits: resourceMap.optional(),
    })
    // Requests against limits: zod only (see K8S_CEL).
    .superRefine(issuesOf(resourceAmountsProblems))
    .describe("Requests and limits of the build Pod's containers.")
    .optional(),
  nodeSelector: z
    .record(z.string(), z.string().max(63))
    .superRefine(issuesOf(atMost(MAX_NODE_SELECTOR_LABELS, "labels")))
    .superRefine(issuesOf(nodeSelectorProblems))
    .meta({ maxProperties: MAX_NODE_SELECTOR_LABELS, ...cel(K8S_CEL.nodeSelector) })
    .describe("The build Pod's nodeSelector: label keys and values as Kubernetes takes them.")
    .default({}),
  tolerations: z
    .array(tolerationSchema)
    .max(MAX_TOLERATIONS)
    .describe("The build Pod's tolerations.")
    .default([]),
  serviceAccountName: z
    .string()
    .max(253)
    .refine((s) => s === "" || DNS1123_SUBDOMAIN.test(s), "must be a valid ServiceAccount name")
    .default(""),
  timeoutSeconds: z
    .int()
    .min(GO_DURATION_FREE_SECONDS.min)
    .max(GO_DURATION_FREE_SECONDS.max)
    .describe("The build Job's activeDeadlineSeconds (default 3600).")
    .default(3600),
  retries: z.int().min(0).max(10).describe("The build Job's backoffLimit (default 0).").default(0),
  cacheClaimName: name("PersistentVolumeClaim")
    .describe("A PersistentVolumeClaim kept between builds for download caches.")
    .optional(),
  hostUsers: z
    .boolean()
    .describe(
      "The build Pod's hostUsers: false runs it in a user namespace of its own, where the stages' capabilities are not root on the node (Kubernetes 1.33+ nodes with user namespace support). Default: the node's users.",
    )
    .optional(),
});

export const imageBuildSpecSchema = z
  .strictObject({
    base: baseSchema,
    packages: z
      .array(z.string().max(128).regex(PACKAGE, "must be a package name"))
      .max(1000)
      .describe("Packages installed with the image's package manager before files and provisioners.")
      .default([]),
    files: z
      .array(fileSchema)
      .max(256)
      .describe("Files written into the image before the provisioners run.")
      .default([]),
    provisioners: z
      .array(provisionerSchema)
      .max(64)
      .superRefine((provisioners, ctx) => {
        // Reported on the list, where the API server's CEL rule reports it too.
        const at = new Map<string, number[]>();
        provisioners.forEach((p, i) => {
          if (p.name !== undefined) at.set(p.name, [...(at.get(p.name) ?? []), i]);
        });
        for (const [name, indexes] of at) {
          if (indexes.length < 2) continue;
          ctx.addIssue({
            code: "custom",
            message: `provisioner names must be unique: "${name}" is used at ${indexes.map((i) => `[${i}]`).join(", ")}`,
          });
        }
      })
      .meta(
        cel({
          rule: "self.all(p, !has(p.name) || self.exists_one(q, has(q.name) && q.name == p.name))",
          message: "provisioner names must be unique",
        }),
      )
      .describe("Provisioning steps, run in order; names, where given, are unique.")
      .default([]),
    kernel: z
      .strictObject({
        cmdline: z
          .array(z.string().min(1).max(1024))
          .max(64)
          .describe("Arguments appended to the kernel command line of the boot entry.")
          .default([]),
      })
      .prefault({}),
    disk: diskSchema.describe("The disk image's size, filesystem and boot mode.").prefault({}),
    formats: z
      .array(z.enum(FORMATS))
      .min(1)
      .max(FORMATS.length)
      .refine((f) => new Set(f).size === f.length, "must not list a format twice")
      .meta(cel({ rule: "self.all(f, self.exists_one(g, g == f))", message: "must not list a format twice" }))
      .describe("Output formats, each at most once (default [qcow2]).")
      .default(["qcow2"]),
    validate: validateSchema.describe("Checks run on the built image before it is published.").prefault({}),
    publish: publishSchema
      .describe("Where the artifacts go: any of volume, s3, oci (KubeVirt containerDisk), aws (AMI).")
      .prefault({}),
    builder: builderSchema
      .describe("The build Job: image, resources, scheduling, timeout, retries.")
      .prefault({}),
    deletionPolicy: z
      .enum(["Retain", "Delete"])
      .describe(
        "What happens to published AMIs, snapshots and objects when the ImageBuild is deleted (default Retain).",
      )
      .default("Retain"),
  })
  .superRefine((spec, ctx) => {
    const diskFormats = spec.formats.filter(isDiskFormat);
    // The builder assembles disks from files without loop devices; its root filesystem comes from
    // mkfs.ext4 -d, and XFS has no equivalent that keeps xattrs and hard links yet.
    if (spec.disk.filesystem !== "ext4") {
      ctx.addIssue({
        code: "custom",
        path: ["disk", "filesystem"],
        message: `filesystem ${spec.disk.filesystem} is not supported yet; supported: ext4`,
      });
    }
    if (spec.validate.boot.enabled && diskFormats.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["validate", "boot", "enabled"],
        message: "boot validation needs a disk format (qcow2, raw, vmdk or vhd) in formats",
      });
    }
    if (!spec.validate.boot.enabled && spec.validate.boot.checks.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["validate", "boot", "checks"],
        message: "checks run in the booted test VM: they need validate.boot.enabled: true",
      });
    }
    if (spec.publish.oci && !spec.formats.includes("qcow2")) {
      ctx.addIssue({
        code: "custom",
        path: ["publish", "oci"],
        message: "a containerDisk is pushed from the qcow2 artifact: add qcow2 to formats",
      });
    }
    if (spec.publish.aws && !diskFormats.length) {
      ctx.addIssue({
        code: "custom",
        path: ["publish", "aws"],
        message: "an AMI is written from the disk image: add a disk format (raw or qcow2) to formats",
      });
    }
  })
  .meta(
    cel(
      {
        // validate.boot.enabled defaults to true and formats to [qcow2] (zod defaults, not in the CRD).
        rule: "!has(self.formats) || self.formats.exists(f, f != 'tgz') || (has(self.validate) && has(self.validate.boot) && has(self.validate.boot.enabled) && !self.validate.boot.enabled)",
        message: "boot validation needs a disk format (qcow2, raw, vmdk or vhd) in formats",
        fieldPath: ".validate.boot.enabled",
      },
      {
        rule: "!has(self.validate) || !has(self.validate.boot) || !has(self.validate.boot.checks) || size(self.validate.boot.checks) == 0 || !has(self.validate.boot.enabled) || self.validate.boot.enabled",
        message: "checks run in the booted test VM: they need validate.boot.enabled: true",
        fieldPath: ".validate.boot.checks",
      },
      {
        rule: "!has(self.publish) || !has(self.publish.oci) || !has(self.formats) || 'qcow2' in self.formats",
        message: "a containerDisk is pushed from the qcow2 artifact: add qcow2 to formats",
        fieldPath: ".publish.oci",
      },
      {
        rule: "!has(self.publish) || !has(self.publish.aws) || !has(self.formats) || self.formats.exists(f, f != 'tgz')",
        message: "an AMI is written from the disk image: add a disk format (raw or qcow2) to formats",
        fieldPath: ".publish.aws",
      },
    ),
  );

export type ImageBuildSpecInput = z.input<typeof imageBuildSpecSchema>;
export type ImageBuildSpec = z.output<typeof imageBuildSpecSchema>;

export const artifactSchema = z.object({
  format: z.enum(FORMATS),
  size: z.int().min(0),
  sha256: z.string(),
  location: z.string(),
  /** Set in status: the build that produced it (status keeps earlier builds' outputs for cleanup). */
  buildId: z.string().optional(),
});
export const imageSchema = z.object({
  provider: z.string(),
  buildId: z.string().optional(),
  region: z.string().optional(),
  imageId: z.string().optional(),
  snapshotId: z.string().optional(),
  name: z.string().optional(),
  digest: z.string().optional(),
});
export type StatusArtifact = z.infer<typeof artifactSchema>;
export type StatusImage = z.infer<typeof imageSchema>;

/** The builder's report, carried in the termination message of the build Pod's main container. */
export const buildResultSchema = z.object({
  artifacts: z.array(artifactSchema).default([]),
  images: z.array(imageSchema).default([]),
});
export type BuildResult = z.infer<typeof buildResultSchema>;

const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.int().optional(),
});

export const imageBuildStatusSchema = z.object({
  phase: z.enum(["Pending", "Building", "Succeeded", "Failed", "Deleting"]).optional(),
  stage: z.enum(STAGES).describe("The stage running while Building.").optional(),
  buildId: z
    .string()
    .describe("Hash of the spec as stored and the bib.dev/rebuild annotation; names the build's children.")
    .optional(),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  message: z.string().optional(),
  // A map keyed by type, as metav1.Condition lists are: server-side apply merges them per type.
  conditions: z
    .array(conditionSchema)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    .optional(),
  artifacts: z.array(artifactSchema).describe("Published files: format, size, sha256, location.").optional(),
  images: z.array(imageSchema).describe("Published machine images, e.g. AMIs.").optional(),
  observedGeneration: z.int().optional(),
});
export type ImageBuildStatus = z.infer<typeof imageBuildStatusSchema>;
export type Condition = z.infer<typeof conditionSchema>;
