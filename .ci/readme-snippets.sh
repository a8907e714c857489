#!/usr/bin/env bash
# README snippets that need a crate outside the workspace (the workspace's README doctests, in
# tests/lib.rs, skip them with `ignore`): each is marked in README.md by a line
#   <!-- readme-snippet: NAME … -->
# right before its ```rust fence, and its first line is a comment listing exactly the
# dependencies a reader adds:
#   // [dev-dependencies] crate = "x", other = { version = "y", features = [...] }
# For each, this script builds a scratch crate under target/readme-snippets/NAME with those
# dependencies (and nothing else) and the snippet as an integration test, and compiles it
# (`cargo test --no-run`: running the Testcontainers one needs Docker and the image). It fails
# when no marked snippet is found, so a renamed marker cannot silently skip the check.
#
# Knobs (environment): SNIPPETS_TIMEOUT (seconds for the whole script, default 1800).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

if [[ -z "${SNIPPETS_TIMEOUT_INNER:-}" ]]; then
  export SNIPPETS_TIMEOUT_INNER=1
  exec timeout --kill-after=30 "${SNIPPETS_TIMEOUT:-1800}" "$0" "$@"
fi

command -v cargo >/dev/null 2>&1 || { echo "cargo is required" >&2; exit 1; }
if ! command -v python3 >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3 >/dev/null
  else
    echo "python3 is required" >&2
    exit 1
  fi
fi

# reqwest's default TLS (native-tls, as a reader who adds `reqwest = "0.12"` gets) needs OpenSSL's headers.
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; }; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq pkg-config libssl-dev >/dev/null
  else
    echo "pkg-config and OpenSSL's development files are required" >&2
    exit 1
  fi
fi

root="$PWD"
scratch="$root/target/readme-snippets"
mkdir -p "$scratch"

# Extract: one directory per marked snippet (Cargo.toml + tests/snippet.rs); prints the names.
names="$(python3 - "$root/README.md" "$scratch" <<'PY'
import os, re, sys

readme, out = sys.argv[1], sys.argv[2]
lines = open(readme, encoding="utf-8").read().split("\n")
marker = re.compile(r"<!--\s*readme-snippet:\s*([A-Za-z0-9_-]+)")
found = []
i = 0
while i < len(lines):
    m = marker.search(lines[i])
    if not m:
        i += 1
        continue
    name = m.group(1)
    j = i + 1
    while j < len(lines) and not lines[j].startswith("```"):
        j += 1
    if j == len(lines) or not lines[j][3:].split(",")[0].strip() == "rust":
        sys.exit(f"README.md:{i + 1}: marker {name!r} is not followed by a ```rust block")
    body = []
    k = j + 1
    while k < len(lines) and lines[k].strip() != "```":
        body.append(lines[k])
        k += 1
    if k == len(lines):
        sys.exit(f"README.md:{j + 1}: unterminated block")
    head = re.match(r"\s*//\s*\[(dev-)?dependencies\]\s*(.*)$", body[0] if body else "")
    if not head:
        sys.exit(f"README.md:{j + 2}: snippet {name!r} does not start with its dependency line")
    # Split `a = "1", b = { … [ … ] … }` at top-level commas.
    deps, depth, cur = [], 0, ""
    for ch in head.group(2):
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        if ch == "," and depth == 0:
            deps.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        deps.append(cur.strip())
    crate = os.path.join(out, name)
    os.makedirs(os.path.join(crate, "tests"), exist_ok=True)
    with open(os.path.join(crate, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "readme-snippet-{name}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n')
        f.write("[dev-dependencies]\n" + "\n".join(deps) + "\n\n# Not part of the kit's workspace.\n[workspace]\n")
    os.makedirs(os.path.join(crate, "src"), exist_ok=True)
    open(os.path.join(crate, "src", "lib.rs"), "w").write("")
    open(os.path.join(crate, "tests", "snippet.rs"), "w").write("\n".join(body) + "\n")
    found.append(name)
    i = k + 1
if not found:
    sys.exit("README.md: no <!-- readme-snippet: NAME --> marker found")
print("\n".join(found))
PY
)"

status=0
for name in $names; do
  echo "== README snippet: $name"
  if (cd "$scratch/$name" && cargo test --no-run --quiet); then
    echo "ok   $name"
  else
    echo "FAIL $name: the README snippet does not compile with the dependencies it lists"
    status=1
  fi
done
exit "$status"
