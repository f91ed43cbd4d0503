# Shared by scripts/test.sh and scripts/demo.sh.
step() { printf '\033[1m[hookstream]\033[0m %s\n' "$*"; }

# npm ci when node_modules is missing or older than package-lock.json.
ensure_node_modules() {
  command -v node >/dev/null || { echo "Node.js 20 is needed (node not found)" >&2; exit 1; }
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    step "installing dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
}
