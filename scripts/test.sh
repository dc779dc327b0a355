#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up (idempotent), then type check, lint, format check,
# unit/HTTP/integration/lifecycle tests, the images (podman), and the end-to-end tests on real tools
# (root), the build Pod in podman among them.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${BIB_SKIP_INSTALL:-}" = 1 ] || bash scripts/install-deps.sh

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# The builder and hook service images, once per run, for the podman e2e tests (test/e2e/podman-*).
# Built while the static checks and the unit tests run: the build mostly waits on the mirror.
bash scripts/images.sh >"$results/images.log" 2>&1 &
images=$!
# A failing check ends the run: the image build goes with it.
trap 'kill "$images" 2>/dev/null || true; rm -rf "$results"' EXIT
status=0
npm run typecheck
npm run lint
npm run format:check
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$results/unit.json" || status=1
if wait "$images"; then
  grep '^images: ' "$results/images.log"
else
  cat "$results/images.log" >&2
  echo "images: scripts/images.sh failed (the podman e2e tests will fail)" >&2
  status=1
fi
export BIB_IMAGES_BUILT=1
npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json="$results/e2e.json" || status=1
node scripts/summarize-results.mjs "$results"/*.json
exit $status
