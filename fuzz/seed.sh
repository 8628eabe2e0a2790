#!/usr/bin/env bash
# Seed the fuzz corpora (fuzz/corpus/<target>/) from the repository's fixtures and the shared
# OpenG2P playbook. Safe to run again: it only adds files (named by content hash), and keeps
# whatever the fuzzer has found so far. The corpora are not committed.
set -euo pipefail

fuzz="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$fuzz")"
shared="$root/../shared"
openg2p="$shared/fixtures/openg2p/use-case-implementation.md"

# add TARGET FILE: copy FILE into the target's corpus under its hash.
add() {
    local dir="$fuzz/corpus/$1" hash
    mkdir -p "$dir"
    hash="$(sha1sum "$2" | cut -c1-16)"
    [ -e "$dir/$hash" ] || cp "$2" "$dir/$hash"
}

# add_text TARGET TEXT
add_text() {
    local tmp
    tmp="$(mktemp)"
    printf '%s' "$2" >"$tmp"
    add "$1" "$tmp"
    rm -f "$tmp"
}

playbooks=("$root/playbooks/registry.md" "$root/fixtures/build/playbook.md")
while IFS= read -r f; do playbooks+=("$f"); done < <(find "$root/fixtures/broken" -name '*.md' | sort)
[ -f "$openg2p" ] && playbooks+=("$openg2p") || echo "seed: $openg2p not found; seeding without it" >&2

# playbook_parser: whole playbooks, and each Discovery item or Activity on its own under a
# minimal phase heading (small inputs fuzz faster).
for p in "${playbooks[@]}"; do
    add playbook_parser "$p"
    tmp="$(mktemp -d)"
    awk -v out="$tmp" '
        /^#### / { n++; file = sprintf("%s/%05d", out, n); print "## Phase 1: Seed\n\n### Discovery items\n" > file }
        n && !/^##? / { print >> file }
        /^## / || /^### / { if (n) close(file); n_open = 0 }
    ' "$p"
    for chunk in "$tmp"/*; do [ -s "$chunk" ] && add playbook_parser "$chunk"; done
    rm -rf "$tmp"
done

# case_reader: every working case in the fixtures.
while IFS= read -r c; do add case_reader "$c"; done < <(find "$root/fixtures" -name '*.yaml' | sort)
add_text case_reader $'playbook: ../playbooks/registry.md\nanswers:\n  country: Kenya\n  supported_languages: [English, Swahili]\n  has_foundational_id: yes\n  foundational_id_name: !deferred "waiting on the ID authority"\n  vc_platform: !unknown\n'

# condition_parser: every `Required: conditional:` and `_(when …)_` expression of the playbooks.
for p in "${playbooks[@]}"; do
    grep -o 'conditional: .*' "$p" | sed 's/^conditional: //' || true
    grep -o '_(when [^)]*)_' "$p" | sed 's/^_(when //; s/)_$//' || true
done | sort -u | while IFS= read -r expr; do add_text condition_parser "$expr"; done
for expr in 'a = 1 OR (b in [x, "y z"] AND c is not empty)' 'any `is` has x (Phase 2) == `v`.' 'x in \[`a`, b,\]'; do
    add_text condition_parser "$expr"
done

# lsp_framing: framed JSON-RPC messages, alone and in a stream, and the transport's awkward cases.
frame() { printf 'Content-Length: %d\r\n\r\n%s' "$(printf '%s' "$1" | wc -c)" "$1"; }
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
open='{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///w/working_case.yaml","languageId":"yaml","version":1,"text":"playbook: p.md\nanswers:\n  country: Kenya\n"}}}'
reply='{"jsonrpc":"2.0","id":7,"result":null}'
add_text lsp_framing "$(frame "$init")"
add_text lsp_framing "$(frame "$init")$(frame "$open")$(frame "$reply")$(frame '{"jsonrpc":"2.0","method":"exit"}')"
add_text lsp_framing "$(printf 'Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}')"
add_text lsp_framing "$(printf 'junk\x01Content-Length: 3\r\n\r\n[1]\r\n\r\nContent-Length: twelve\r\n\r\n{}')"
add_text lsp_framing "$(printf 'Content-Length: 5\r\n\r\n\xff\xfe{}\xffContent-Length: 2\r\n\r\n{}')"

for t in playbook_parser case_reader condition_parser lsp_framing; do
    printf 'seed: %-17s %4d files\n' "$t" "$(find "$fuzz/corpus/$t" -type f | wc -l)"
done
