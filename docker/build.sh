#!/usr/bin/env bash
# Builds the uip-sandbox container image.
#
#   docker/build.sh            # -> uip-sandbox:dev and uip-sandbox:<crate version>
#   docker/build.sh my/tag:1   # -> that tag too
#
# 1. `cargo build --release -p uip-sandbox --bin uip-sandbox` on this machine (glibc-linked: the base
#    image must be Debian 12 "bookworm" compatible, as the default base is).
# 2. `docker build` of docker/Dockerfile on BASE_IMAGE (default gcr.io/distroless/cc-debian12).
#    When that base can be neither found locally nor pulled (a machine without registry access), a
#    minimal bookworm base is made from Debian's packages instead (debootstrap, as root; glibc,
#    libgcc, CA certificates, a nonroot user) and imported as uip-sandbox-base:bookworm.
#
# Environment: BASE_IMAGE, DOCKER (default docker), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

docker="${DOCKER:-docker}"
base="${BASE_IMAGE:-gcr.io/distroless/cc-debian12}"
local_base="uip-sandbox-base:bookworm"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
tags=("uip-sandbox:dev" "uip-sandbox:${version}")
if [[ $# -gt 0 ]]; then tags+=("$1"); fi

# A bookworm root file system with only what the binary needs, imported as $local_base.
make_local_base() {
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "debootstrap is missing: apt-get install -y debootstrap (or make $base pullable)" >&2
    exit 1
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "making the local base needs root (debootstrap); or make $base pullable" >&2
    exit 1
  fi
  local work full slim
  work="$(mktemp -d)"
  full="$work/full"
  slim="$work/slim"
  echo "== debootstrap bookworm (minbase + ca-certificates) into $full"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$full" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    exit 1
  }
  mkdir -p "$slim"/{etc/ssl/certs,tmp,home/nonroot,usr/bin,usr/lib,usr/sbin}
  chmod 1777 "$slim/tmp"
  chown 65532:65532 "$slim/home/nonroot"
  # The merged-/usr links, as in the source tree.
  local link
  for link in bin lib lib32 lib64 libx32 sbin; do
    if [[ -L "$full/$link" ]]; then cp -a "$full/$link" "$slim/$link"; fi
  done
  if [[ -d "$full/usr/lib64" ]]; then mkdir -p "$slim/usr/lib64"; fi
  # Every file of the runtime libraries' packages, minus docs and the iconv modules.
  local f dir
  chroot "$full" dpkg-query -L libc6 libgcc-s1 \
    | grep -Ev '^/usr/share/(doc|man|info|lintian|locale)/|/gconv/' \
    | while IFS= read -r f; do
      [[ -f "$full$f" || -L "$full$f" ]] || continue
      dir="$(cd "$full$(dirname "$f")" && pwd -P)"
      dir="${dir#"$full"}"
      mkdir -p "$slim$dir"
      cp -a "$full$f" "$slim$dir/"
    done
  cp -L "$full/etc/ssl/certs/ca-certificates.crt" "$slim/etc/ssl/certs/"
  cp -L "$full/etc/os-release" "$slim/etc/os-release"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$slim/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$slim/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$slim/etc/nsswitch.conf"
  echo "== importing $(du -sh "$slim" | cut -f1) as $local_base"
  tar --numeric-owner -C "$slim" -c . | "$docker" import \
    -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    -m "bookworm minimal runtime (glibc, libgcc, CA certificates) from debootstrap" - "$local_base" >/dev/null
  rm -rf "$work"
}

echo "== cargo build --release -p uip-sandbox --bin uip-sandbox"
cargo build --release --locked -p uip-sandbox --bin uip-sandbox
binary="${CARGO_TARGET_DIR:-target}/release/uip-sandbox"

if "$docker" image inspect "$base" >/dev/null 2>&1; then
  echo "== base image $base (local)"
elif timeout 300 "$docker" pull "$base" >/dev/null 2>&1; then
  echo "== base image $base (pulled)"
else
  echo "== $base cannot be pulled: using the local base $local_base"
  base="$local_base"
  if ! "$docker" image inspect "$base" >/dev/null 2>&1; then make_local_base; fi
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$binary" docker/Dockerfile LICENSE-MIT LICENSE-APACHE "$context/"
mkdir "$context/data"
tag_args=()
for t in "${tags[@]}"; do tag_args+=(-t "$t"); done
echo "== docker build ${tags[*]}"
"$docker" build --quiet \
  --build-arg "BASE_IMAGE=$base" \
  --build-arg "VERSION=$version" \
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg "CREATED=$(git log -1 --format=%cI 2>/dev/null || echo unknown)" \
  "${tag_args[@]}" "$context" >/dev/null
"$docker" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' uip-sandbox
