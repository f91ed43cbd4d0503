#!/usr/bin/env bash
# Prints the path of promtool $PROMTOOL_VERSION (scripts/test.sh checks and unit-tests the alert rules
# with it). Built once with `go install` into a cache outside the clone, reused afterwards; a promtool
# on PATH is used only if it is the same version. Progress goes to stderr, only the path to stdout.
set -euo pipefail

PROMTOOL_VERSION=3.16.0
# Prometheus 3.x is published as Go module versions v0.3MM.P (3.16.0 is v0.316.0).
MODULE_VERSION=v0.316.0
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/hookstream/promtool-$PROMTOOL_VERSION"

say() { printf '[promtool] %s\n' "$*" >&2; }

if on_path=$(command -v promtool) && "$on_path" --version 2>&1 | grep -q "version $PROMTOOL_VERSION "; then
  echo "$on_path"
  exit 0
fi
if [[ -x "$CACHE_DIR/promtool" ]]; then
  echo "$CACHE_DIR/promtool"
  exit 0
fi

GO=$(command -v go || echo /usr/local/go/bin/go)
[[ -x "$GO" ]] || { say "Go 1.26 is needed to build promtool (no go on PATH nor /usr/local/go/bin/go)"; exit 1; }
say "building promtool $PROMTOOL_VERSION into $CACHE_DIR (once; takes a few minutes)"
mkdir -p "$(dirname "$CACHE_DIR")"
# Built beside the cache and renamed into it, so an interrupted build never leaves a broken binary.
building=$(mktemp -d "$CACHE_DIR.building.XXXXXX")
chmod 755 "$building"
trap 'rm -rf "$building"' EXIT
started=$SECONDS
# remove_all_sd leaves out the service-discovery SDKs (Azure, GCE, Kubernetes...), which rule checks
# and tests never use: a cold build on 2 CPUs took 3.5 minutes instead of 14. -X makes --version
# tell the release, which the PATH check above relies on.
if ! GOBIN="$building" "$GO" install -trimpath -tags remove_all_sd \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMTOOL_VERSION" \
  "github.com/prometheus/prometheus/cmd/promtool@$MODULE_VERSION" >"$building/go-install.log" 2>&1; then
  cat "$building/go-install.log" >&2
  say "go install failed (output above)"
  exit 1
fi
rm "$building/go-install.log"
mv -T "$building" "$CACHE_DIR" 2>/dev/null || [[ -x "$CACHE_DIR/promtool" ]]
say "built in $((SECONDS - started)) s"
echo "$CACHE_DIR/promtool"
