# Sourced by setup.sh, test.sh and bench.sh: use_node20 puts a Node.js 20 or newer first on PATH.
# The acceptance tests (openai@6 uploads files with the File global) and Portkey's gateway need
# it; Debian 12's nodejs is 18. With an older system Node, the official Node.js 20 binaries (npm
# package node-linux-<arch>) are installed once from the npm registry into .cache/node20.
NODE20_VERSION=20.20.2
NODE20_DIR="$(pwd)/.cache/node20"

use_node20() {
  local major arch bin
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge 20 ] && return 0
  arch=$(node -p process.arch)
  bin="$NODE20_DIR/node_modules/node-linux-$arch/bin"
  if [ ! -x "$bin/node" ]; then
    echo "setup: Node.js $major is older than 20: installing Node.js $NODE20_VERSION into .cache/node20"
    npm install --prefix "$NODE20_DIR" --no-save --no-package-lock --no-audit --no-fund \
      --loglevel=error "node-linux-$arch@$NODE20_VERSION"
  fi
  export PATH="$bin:$PATH"
}
