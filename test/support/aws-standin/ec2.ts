// The EC2 Query API actions the publisher and cleanup call. Requests are form-encoded
// (Action=...&Version=2016-11-15); answers are XML; errors are <Response><Errors><Error>.
import { newId, type AwsState, type StoredImage, type StoredSnapshot } from "./state.js";
import type { Reply } from "./ebs.js";

const XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/";

export class Ec2Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function ec2ErrorReply(e: Ec2Error, requestId: string): Reply {
  return {
    status: e.status,
    headers: { "content-type": "text/xml;charset=UTF-8" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(e.code)}</Code><Message>${esc(e.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  };
}

type Params = URLSearchParams;

/** Values of a flattened list: `Prefix.1`, `Prefix.2`, ... */
function list(p: Params, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; p.has(`${prefix}.${i}`); i++) out.push(p.get(`${prefix}.${i}`)!);
  return out;
}

/** Indexes of a flattened list of structures: `Prefix.1.Field`, ... */
function structs(p: Params, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; [...p.keys()].some((k) => k.startsWith(`${prefix}.${i}.`)); i++) out.push(`${prefix}.${i}`);
  return out;
}

/** EC2's tag limits: 50 per resource; keys 1 to 128 characters, not `aws:`; values up to 256. */
const MAX_TAGS = 50;

function tagsOf(p: Params, prefix: string): Map<string, string> {
  const tags = new Map(structs(p, prefix).map((s) => [p.get(`${s}.Key`) ?? "", p.get(`${s}.Value`) ?? ""]));
  for (const [key, value] of tags) {
    if (!key || key.length > 128 || value.length > 256)
      throw new Ec2Error(400, "InvalidParameterValue", `Tag key or value too long or empty: "${key}"`);
    if (key.toLowerCase().startsWith("aws:"))
      throw new Ec2Error(
        400,
        "InvalidParameterValue",
        "Tag keys starting with 'aws:' are reserved for internal use",
      );
  }
  return tags;
}

function checkTagCount(tags: Map<string, string>): void {
  if (tags.size > MAX_TAGS)
    throw new Ec2Error(400, "TagLimitExceeded", `The maximum number of tags per resource is ${MAX_TAGS}`);
}

function tagSpecs(p: Params, resourceType: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const s of structs(p, "TagSpecification")) {
    const type = p.get(`${s}.ResourceType`);
    if (type !== resourceType)
      throw new Ec2Error(
        400,
        "InvalidParameterValue",
        `'${type}' is not a valid taggable resource type for this operation.`,
      );
    for (const [k, v] of tagsOf(p, `${s}.Tag`)) tags.set(k, v);
  }
  checkTagCount(tags);
  return tags;
}

function filters(p: Params): Array<{ name: string; values: string[] }> {
  return structs(p, "Filter").map((s) => ({ name: p.get(`${s}.Name`) ?? "", values: list(p, `${s}.Value`) }));
}

function matches(
  tags: Map<string, string>,
  fields: Record<string, string>,
  fs: Array<{ name: string; values: string[] }>,
): boolean {
  return fs.every((f) => {
    const value = f.name.startsWith("tag:") ? tags.get(f.name.slice(4)) : fields[f.name];
    return value !== undefined && f.values.includes(value);
  });
}

const tagSetXml = (tags: Map<string, string>) =>
  `<tagSet>${[...tags].map(([k, v]) => `<item><key>${esc(k)}</key><value>${esc(v)}</value></item>`).join("")}</tagSet>`;

function respond(action: string, requestId: string, inner: string): Reply {
  return {
    status: 200,
    headers: { "content-type": "text/xml;charset=UTF-8" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XMLNS}"><requestId>${requestId}</requestId>${inner}</${action}Response>`,
  };
}

export interface Ec2Call {
  state: AwsState;
  region: string;
  owner: string;
  params: Params;
  requestId: string;
}

const required = (p: Params, name: string): string => {
  const v = p.get(name);
  if (!v) throw new Ec2Error(400, "MissingParameter", `The request must contain the parameter ${name}`);
  return v;
};

/** An AMI name as RegisterImage and CopyImage check it: well-formed, and not taken in the region. */
function newImageName(c: Ec2Call, name: string): string {
  if (!/^[a-zA-Z0-9()[\]./\-_'@ ]{3,128}$/.test(name))
    throw new Ec2Error(400, "InvalidAMIName.Malformed", `AMI name ${name} is invalid`);
  const dup = c.state.imagesIn(c.region, c.owner).find((i) => i.name === name);
  if (dup)
    throw new Ec2Error(
      400,
      "InvalidAMIName.Duplicate",
      `AMI name ${name} is already in use by AMI ${dup.id}`,
    );
  return name;
}

function snapshotOf(c: Ec2Call, id: string): StoredSnapshot {
  const s = c.state.snapshots.get(id);
  if (!/^snap-[0-9a-f]{8,17}$/.test(id))
    throw new Ec2Error(400, "InvalidSnapshotID.Malformed", `Invalid id: "${id}"`);
  if (!s || s.region !== c.region || s.owner !== c.owner) {
    throw new Ec2Error(400, "InvalidSnapshot.NotFound", `The snapshot '${id}' does not exist.`);
  }
  return s;
}

function imageOf(c: Ec2Call, id: string): StoredImage {
  if (!/^ami-[0-9a-f]{8,17}$/.test(id))
    throw new Ec2Error(400, "InvalidAMIID.Malformed", `Invalid id: "${id}"`);
  const i = c.state.images.get(id);
  if (!i || i.region !== c.region || i.owner !== c.owner) {
    throw new Ec2Error(400, "InvalidAMIID.NotFound", `The image id '[${id}]' does not exist`);
  }
  return i;
}

export function handleEc2(action: string, c: Ec2Call): Reply {
  const handler = HANDLERS[action];
  if (!handler)
    throw new Ec2Error(400, "InvalidAction", `The action ${action} is not valid for this web service.`);
  return respond(action, c.requestId, handler(c));
}

const ok = "<return>true</return>";

const HANDLERS: Record<string, (c: Ec2Call) => string> = {
  DescribeSnapshots(c) {
    const ids = list(c.params, "SnapshotId");
    const owners = list(c.params, "Owner");
    if (owners.some((o) => o !== "self" && o !== c.owner)) return "<snapshotSet/>";
    const fs = filters(c.params);
    const found = ids.length ? ids.map((id) => snapshotOf(c, id)) : c.state.snapshotsIn(c.region, c.owner);
    const items = found
      .filter((s) => matches(s.tags, { status: s.state, "snapshot-id": s.id }, fs))
      .map((s) => {
        let state = s.state;
        if (state === "completed" && s.pendingDescribes > 0) {
          s.pendingDescribes--;
          state = "pending";
        }
        return `<item><snapshotId>${s.id}</snapshotId><volumeId>vol-ffffffff</volumeId><status>${state}</status><startTime>${s.startTime.toISOString()}</startTime><progress>${state === "completed" ? "100%" : "0%"}</progress><ownerId>${s.owner}</ownerId><volumeSize>${s.volumeSize}</volumeSize><description>${esc(s.description)}</description><encrypted>false</encrypted>${tagSetXml(s.tags)}</item>`;
      });
    return `<snapshotSet>${items.join("")}</snapshotSet>`;
  },

  RegisterImage(c) {
    const p = c.params;
    const name = newImageName(c, required(p, "Name"));
    const root = required(p, "RootDeviceName");
    const mappings = structs(p, "BlockDeviceMapping");
    const rootMapping = mappings.find((m) => p.get(`${m}.DeviceName`) === root);
    if (!rootMapping)
      throw new Ec2Error(
        400,
        "InvalidBlockDeviceMapping",
        `The root device ${root} has no block device mapping`,
      );
    const snapshot = snapshotOf(c, required(p, `${rootMapping}.Ebs.SnapshotId`));
    if (snapshot.state !== "completed") {
      throw new Ec2Error(400, "IncorrectState", `Snapshot ${snapshot.id} is not in the completed state`);
    }
    const arch = p.get("Architecture") ?? "i386";
    if (!["i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac"].includes(arch)) {
      throw new Ec2Error(
        400,
        "InvalidParameterValue",
        `Value (${arch}) for parameter architecture is invalid.`,
      );
    }
    const bootMode = p.get("BootMode");
    if (bootMode && !["legacy-bios", "uefi", "uefi-preferred"].includes(bootMode)) {
      throw new Ec2Error(
        400,
        "InvalidParameterValue",
        `Value (${bootMode}) for parameter bootMode is invalid.`,
      );
    }
    const image: StoredImage = {
      id: newId("ami"),
      region: c.region,
      owner: c.owner,
      name,
      ...(p.get("Description") ? { description: p.get("Description")! } : {}),
      state: "pending",
      architecture: arch,
      ...(bootMode ? { bootMode } : {}),
      ...(p.get("ImdsSupport") ? { imdsSupport: p.get("ImdsSupport")! } : {}),
      enaSupport: p.get("EnaSupport") === "true",
      virtualizationType: p.get("VirtualizationType") ?? "paravirtual",
      rootDeviceName: root,
      snapshotId: snapshot.id,
      volumeType: p.get(`${rootMapping}.Ebs.VolumeType`) ?? "standard",
      tags: tagSpecs(p, "image"),
      launchPermission: new Set(),
      creationDate: new Date(),
      pendingDescribes: 1,
    };
    c.state.images.set(image.id, image);
    return `<imageId>${image.id}</imageId>`;
  },

  DescribeImages(c) {
    const ids = list(c.params, "ImageId");
    const owners = list(c.params, "Owner");
    const fs = filters(c.params);
    const candidates = ids.length
      ? ids.map((id) => imageOf(c, id))
      : [...c.state.images.values()].filter((i) => i.region === c.region);
    const items = candidates
      .filter((i) =>
        owners.length
          ? owners.some((o) => (o === "self" ? c.owner : o) === i.owner)
          : i.owner === c.owner || i.launchPermission.has("all"),
      )
      .filter((i) => matches(i.tags, { name: i.name, "image-id": i.id, state: i.state }, fs))
      .map((i) => {
        let state = i.state;
        if (state === "pending" && i.pendingDescribes-- <= 0) state = i.state = "available";
        return `<item><imageId>${i.id}</imageId><imageLocation>${i.owner}/${esc(i.name)}</imageLocation><imageState>${state}</imageState><imageOwnerId>${i.owner}</imageOwnerId><creationDate>${i.creationDate.toISOString()}</creationDate><isPublic>${i.launchPermission.has("all")}</isPublic><architecture>${i.architecture}</architecture><imageType>machine</imageType><name>${esc(i.name)}</name>${i.description ? `<description>${esc(i.description)}</description>` : ""}<rootDeviceType>ebs</rootDeviceType><rootDeviceName>${i.rootDeviceName}</rootDeviceName><blockDeviceMapping><item><deviceName>${i.rootDeviceName}</deviceName><ebs><snapshotId>${i.snapshotId}</snapshotId><volumeSize>${c.state.snapshots.get(i.snapshotId)?.volumeSize ?? 8}</volumeSize><deleteOnTermination>true</deleteOnTermination><volumeType>${i.volumeType}</volumeType><encrypted>false</encrypted></ebs></item></blockDeviceMapping><virtualizationType>${i.virtualizationType}</virtualizationType>${tagSetXml(i.tags)}<hypervisor>xen</hypervisor><enaSupport>${i.enaSupport}</enaSupport>${i.bootMode ? `<bootMode>${i.bootMode}</bootMode>` : ""}${i.imdsSupport ? `<imdsSupport>${i.imdsSupport}</imdsSupport>` : ""}</item>`;
      });
    return `<imagesSet>${items.join("")}</imagesSet>`;
  },

  CreateTags(c) {
    const ids = list(c.params, "ResourceId");
    if (!ids.length)
      throw new Ec2Error(400, "MissingParameter", "The request must contain the parameter resourceIdSet");
    const tags = tagsOf(c.params, "Tag");
    const targets = ids.map((id) => (id.startsWith("ami-") ? imageOf(c, id) : snapshotOf(c, id)));
    // All or nothing, as EC2: no resource is tagged when one would exceed the limit.
    for (const t of targets) checkTagCount(new Map([...t.tags, ...tags]));
    for (const t of targets) for (const [k, v] of tags) t.tags.set(k, v);
    return ok;
  },

  CopyImage(c) {
    const p = c.params;
    const sourceRegion = required(p, "SourceRegion");
    const sourceId = required(p, "SourceImageId");
    // CopyImage requires Name: a copy does not default to its source's name.
    const requestedName = required(p, "Name");
    const source = imageOf({ ...c, region: sourceRegion }, sourceId);
    if (source.state !== "available")
      throw new Ec2Error(400, "IncorrectState", `Image ${sourceId} is not available`);
    const token = p.get("ClientToken") ?? undefined;
    const again = token && c.state.imagesIn(c.region, c.owner).find((i) => i.copyToken === token);
    if (again) return `<imageId>${again.id}</imageId>`;
    const name = newImageName(c, requestedName);
    const srcSnap = c.state.snapshots.get(source.snapshotId)!;
    const snap: StoredSnapshot = {
      ...srcSnap,
      id: newId("snap"),
      region: c.region,
      tags: new Map(),
      pendingDescribes: 0,
      createVolumePermission: new Set(),
      description: `Copied for DestinationAmi from SourceAmi ${sourceId}`,
    };
    delete snap.clientToken;
    c.state.snapshots.set(snap.id, snap);
    const image: StoredImage = {
      ...source,
      id: newId("ami"),
      region: c.region,
      name,
      state: "pending",
      snapshotId: snap.id,
      tags: tagSpecs(p, "image"),
      launchPermission: new Set(),
      creationDate: new Date(),
      pendingDescribes: 2,
      ...(token ? { copyToken: token } : {}),
    };
    c.state.images.set(image.id, image);
    return `<imageId>${image.id}</imageId>`;
  },

  ModifyImageAttribute(c) {
    const image = imageOf(c, required(c.params, "ImageId"));
    const add = structs(c.params, "LaunchPermission.Add");
    if (!add.length) throw new Ec2Error(400, "MissingParameter", "No attribute to modify");
    for (const s of add) {
      const who = c.params.get(`${s}.UserId`) ?? (c.params.get(`${s}.Group`) === "all" ? "all" : undefined);
      if (!who || (who !== "all" && !/^\d{12}$/.test(who)))
        throw new Ec2Error(400, "InvalidAMIAttributeItemValue", `Invalid launch permission ${who}`);
      image.launchPermission.add(who);
    }
    return ok;
  },

  ModifySnapshotAttribute(c) {
    const snapshot = snapshotOf(c, required(c.params, "SnapshotId"));
    const who = [
      ...structs(c.params, "CreateVolumePermission.Add").map(
        (s) => c.params.get(`${s}.UserId`) ?? (c.params.get(`${s}.Group`) === "all" ? "all" : ""),
      ),
      ...list(c.params, "UserId"),
      ...list(c.params, "UserGroup"),
    ];
    if (!who.length) throw new Ec2Error(400, "MissingParameter", "No attribute to modify");
    for (const w of who) {
      if (w !== "all" && !/^\d{12}$/.test(w))
        throw new Ec2Error(400, "InvalidParameterValue", `Invalid user id ${w}`);
      snapshot.createVolumePermission.add(w);
    }
    return ok;
  },

  DeregisterImage(c) {
    const image = imageOf(c, required(c.params, "ImageId"));
    c.state.images.delete(image.id);
    return ok;
  },

  DeleteSnapshot(c) {
    const snapshot = snapshotOf(c, required(c.params, "SnapshotId"));
    const user = [...c.state.images.values()].find((i) => i.snapshotId === snapshot.id);
    if (user)
      throw new Ec2Error(
        400,
        "InvalidSnapshot.InUse",
        `The snapshot ${snapshot.id} is currently in use by ${user.id}`,
      );
    c.state.snapshots.delete(snapshot.id);
    return ok;
  },
};
