// AMIs: find by name, register from a snapshot, copy to other regions, tag and share; which build
// owns them; deleting their snapshots.
import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DescribeImagesCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
  type EC2Client,
  type Image,
} from "@aws-sdk/client-ec2";
import { createHash } from "node:crypto";
import type { BuildPlan } from "../../plan/plan.js";
import { awsCall, type AwsCall } from "./errors.js";
import { pollDelay, sleep } from "./retry.js";
import { TAG_BUILD_ID, TAG_IMAGEBUILD, tagList } from "./tags.js";

export interface Ec2Call extends AwsCall {
  ec2: EC2Client;
}

export function tagValue(image: Image | undefined, key: string): string | undefined {
  return image?.Tags?.find((t) => t.Key === key)?.Value;
}

export function rootSnapshotId(image: Image): string | undefined {
  return image.BlockDeviceMappings?.find((m) => m.Ebs?.SnapshotId)?.Ebs?.SnapshotId;
}

/** Our own AMI of that name, if any; a deregistered one no longer holds the name. */
export async function findImageByName(c: Ec2Call, name: string): Promise<Image | undefined> {
  const out = await awsCall(c, "DescribeImages", (abortSignal) =>
    c.ec2.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "name", Values: [name] }] }), {
      abortSignal,
    }),
  );
  return out.Images?.find((i) => i.Name === name && i.State !== "deregistered");
}

/** Which build an AMI or snapshot belongs to: two ImageBuilds with the same spec share a build id. */
export interface Owner {
  buildId: string;
  /** `<namespace>/<name>` of the ImageBuild. */
  imageBuild: string;
}

/** The owner a plan's AMIs and snapshots are tagged with, and that cleanup checks before deleting. */
export function ownerOf(plan: Pick<BuildPlan, "buildId" | "imageBuild">): Owner {
  return { buildId: plan.buildId, imageBuild: `${plan.imageBuild.namespace}/${plan.imageBuild.name}` };
}

export function isOurs(tags: Array<{ Key?: string; Value?: string }> | undefined, owner: Owner): boolean {
  const get = (key: string) => tags?.find((t) => t.Key === key)?.Value;
  return get(TAG_BUILD_ID) === owner.buildId && get(TAG_IMAGEBUILD) === owner.imageBuild;
}

/** An AMI of that name that another build made is an error, never silently reused or replaced. */
export function assertOurs(c: Ec2Call, image: Image, owner: Owner): void {
  if (!isOurs(image.Tags, owner)) {
    const theirs = `${TAG_IMAGEBUILD}=${tagValue(image, TAG_IMAGEBUILD) ?? "<none>"}, ${TAG_BUILD_ID}=${tagValue(image, TAG_BUILD_ID) ?? "<none>"}`;
    throw new Error(
      `${c.target}: an AMI named "${image.Name}" already exists (${image.ImageId}) and was not published by this build ` +
        `(${theirs}; this build is ${owner.imageBuild} ${owner.buildId}); use a unique publish.aws.name, e.g. with {{.Timestamp}} or {{.BuildID}}`,
    );
  }
}

export interface RegisterSpec {
  name: string;
  description?: string;
  architecture: "x86_64" | "arm64";
  bootMode: "uefi" | "legacy-bios" | "uefi-preferred";
  snapshotId: string;
  tags: Record<string, string>;
}

export const ROOT_DEVICE = "/dev/xvda";

export async function registerImage(c: Ec2Call, spec: RegisterSpec, owner: Owner): Promise<string> {
  try {
    const out = await awsCall(c, "RegisterImage", (abortSignal) =>
      c.ec2.send(
        new RegisterImageCommand({
          Name: spec.name,
          ...(spec.description ? { Description: spec.description } : {}),
          Architecture: spec.architecture,
          VirtualizationType: "hvm",
          EnaSupport: true,
          BootMode: spec.bootMode,
          ImdsSupport: "v2.0",
          RootDeviceName: ROOT_DEVICE,
          BlockDeviceMappings: [
            {
              DeviceName: ROOT_DEVICE,
              Ebs: { SnapshotId: spec.snapshotId, VolumeType: "gp3", DeleteOnTermination: true },
            },
          ],
          // Tagged in the same call: an AMI never exists without the build id that claims its name.
          TagSpecifications: [{ ResourceType: "image", Tags: tagList(spec.tags) }],
        }),
        { abortSignal },
      ),
    );
    if (!out.ImageId) throw new Error(`${c.target}: RegisterImage returned no image id`);
    return out.ImageId;
  } catch (error) {
    // A retried RegisterImage whose first attempt succeeded meets its own AMI.
    if (!/InvalidAMIName\.Duplicate/.test((error as Error).message)) throw error;
    const image = await findImageByName(c, spec.name);
    if (!image?.ImageId) throw error;
    assertOurs(c, image, owner);
    return image.ImageId;
  }
}

export async function createTags(
  c: Ec2Call,
  resources: string[],
  tags: Record<string, string>,
): Promise<void> {
  await awsCall(c, "CreateTags", (abortSignal) =>
    c.ec2.send(new CreateTagsCommand({ Resources: resources, Tags: tagList(tags) }), { abortSignal }),
  );
}

export async function waitForImage(c: Ec2Call, imageId: string, pollMs: number): Promise<Image> {
  for (let poll = 0; ; poll++) {
    const out = await awsCall(c, "DescribeImages", (abortSignal) =>
      c.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }), { abortSignal }),
    );
    const image = out.Images?.[0];
    if (image?.State === "available") return image;
    if (image && image.State !== "pending") {
      throw new Error(
        `${c.target}: AMI ${imageId} is ${image.State}: ${image.StateReason?.Message ?? "no reason given"}`,
      );
    }
    await sleep(pollDelay(poll, pollMs), c.signal);
  }
}

export function copyClientToken(owner: Owner, sourceImageId: string, region: string): string {
  const h = createHash("sha256").update(`${owner.imageBuild}\n${owner.buildId}\n${sourceImageId}\n${region}`);
  return `bib-${h.digest("hex").slice(0, 48)}`;
}

export async function copyImage(
  c: Ec2Call,
  src: { imageId: string; region: string; name: string; description?: string },
  tags: Record<string, string>,
  owner: Owner,
  destRegion: string,
): Promise<string> {
  const out = await awsCall(c, "CopyImage", (abortSignal) =>
    c.ec2.send(
      new CopyImageCommand({
        SourceImageId: src.imageId,
        SourceRegion: src.region,
        Name: src.name,
        ...(src.description ? { Description: src.description } : {}),
        ClientToken: copyClientToken(owner, src.imageId, destRegion),
        TagSpecifications: [{ ResourceType: "image", Tags: tagList(tags) }],
      }),
      { abortSignal },
    ),
  );
  if (!out.ImageId) throw new Error(`${c.target}: CopyImage returned no image id`);
  return out.ImageId;
}

/** Launch permission on the AMI and create-volume permission on its snapshot, which EC2 needs too. */
export async function share(
  c: Ec2Call,
  imageId: string,
  snapshotId: string,
  accounts: string[],
  isPublic: boolean,
): Promise<void> {
  if (!accounts.length && !isPublic) return;
  const add = [...accounts.map((UserId) => ({ UserId })), ...(isPublic ? [{ Group: "all" as const }] : [])];
  await awsCall(c, "ModifyImageAttribute", (abortSignal) =>
    c.ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: add } }), {
      abortSignal,
    }),
  );
  await awsCall(c, "ModifySnapshotAttribute", (abortSignal) =>
    c.ec2.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        CreateVolumePermission: {
          Add: add.map((a) => ("UserId" in a ? { UserId: a.UserId } : { Group: "all" })),
        },
      }),
      { abortSignal },
    ),
  );
}

/** Deletes a snapshot; one that is already gone counts as done. */
export async function deleteSnapshot(c: Ec2Call, snapshotId: string): Promise<"deleted" | "already gone"> {
  try {
    await awsCall(c, "DeleteSnapshot", (abortSignal) =>
      c.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }), { abortSignal }),
    );
    return "deleted";
  } catch (error) {
    if (/InvalidSnapshot\.NotFound/.test((error as Error).message)) return "already gone";
    throw error;
  }
}
