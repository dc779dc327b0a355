#!/usr/bin/env bash
# From a fresh Debian 12 machine to a verified, bootable image: installs what bib needs, then builds
# examples/debian-12.yaml locally (debootstrap, packages, Ansible, a shell script, qcow2 + raw + tgz)
# and boots the result in QEMU until it shows its login prompt, with the `bib` command the set-up
# puts on the PATH. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The installed command, exactly as the README runs it.
bib build -f "${1:-examples/debian-12.yaml}" --output "${2:-out}"
