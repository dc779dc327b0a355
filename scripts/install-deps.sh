#!/usr/bin/env bash
# Installs everything bib needs on Debian 12 (run as root): the tools the build stages run, the
# test peers (a real OCI registry), and the npm packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  # base stage
  debootstrap ca-certificates curl git skopeo umoci busybox-static
  # provision stage
  ansible
  # package stage: filesystems, partition table, ESP, conversions
  e2fsprogs xfsprogs dosfstools mtools fdisk qemu-utils grub-efi-amd64-bin grub-pc-bin zstd isal
  # validate stage: boot the image
  qemu-system-x86 ovmf
  # tests and benchmarks: a real registry (and htpasswd for its auth), capability bounding sets, timing
  docker-registry apache2-utils libcap2-bin util-linux hyperfine time
  # the images and the build Pod in a real container runtime (scripts/images.sh, test/e2e/podman-*):
  # runc (crun fails on hybrid cgroups), catatonit (kube play's pause), uidmap (hostUsers: false)
  podman buildah runc catatonit uidmap containernetworking-plugins slirp4netns fuse-overlayfs
  # lint of the shell scripts
  shellcheck
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (sudo $0)" >&2
  exit 1
fi

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Debian package starts a registry on :5000 where systemd runs; tests start their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

# npm ci compiles the CLI to dist/ (the prepare script); otherwise compile it here, so that the
# `bib` below always runs this checkout's current source.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi

# `bib` on the PATH, as the README runs it: a link to this checkout's compiled CLI (the last
# checkout set up wins). BIB_BIN_DIR puts it elsewhere (the tests do).
bin_dir=${BIB_BIN_DIR:-/usr/local/bin}
mkdir -p "$bin_dir"
ln -sfn "$PWD/dist/cli/main.js" "$bin_dir/bib"
echo "install-deps: $bin_dir/bib -> $PWD/dist/cli/main.js"
if [ "$(command -v bib)" != "$bin_dir/bib" ]; then
  echo "install-deps: warning: \`bib\` on your PATH is not $bin_dir/bib; add $bin_dir to PATH" >&2
fi
