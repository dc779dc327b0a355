#!/usr/bin/env bash
# `bib` in the builder image: a thin launcher; all logic lives in the TypeScript CLI.
set -euo pipefail
exec node /opt/bib/dist/cli/main.js "$@"
