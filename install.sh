#!/bin/sh
# Installs an imgb release binary: picks the one for this machine (linux/darwin, x64/arm64,
# glibc/musl), verifies it against the release's SHA256SUMS, and installs it as PREFIX/bin/imgb.
#
#   sh install.sh                                  latest release, into /usr/local/bin
#   sh install.sh --version 0.1.0 --prefix ~/.local
#   sh install.sh --from ./release-files           a directory holding imgb-* and SHA256SUMS (no network)
#   sh install.sh --from https://mirror.example/imgb/v0.1.0
#
# Options:
#   --prefix DIR        install into DIR/bin (default: $IMGB_PREFIX, else /usr/local)
#   --version V         release to download (default: latest); not with --from
#   --from DIR|URL      where the release files are: a local directory or a base URL
#   --target T          skip detection: linux-x64, linux-x64-musl, linux-arm64,
#                       linux-arm64-musl, darwin-x64, darwin-arm64
#   -h, --help
#
# Detection can be overridden (tests, odd systems): IMGB_INSTALL_OS (linux|darwin),
# IMGB_INSTALL_ARCH (x64|arm64), IMGB_INSTALL_LIBC (glibc|musl).
#
# Exit codes: 0 installed; 1 failed (download, checksum, install); 2 usage or unsupported machine.
set -eu

RELEASES_URL=${IMGB_RELEASES_URL:-https://github.com/imgb-dev/imgb/releases}

prefix=${IMGB_PREFIX:-/usr/local}
version=
from=
target=

say() { printf 'imgb-install: %s\n' "$*" >&2; }
die() { printf 'imgb-install: error: %s\n' "$1" >&2; exit "${2:-1}"; }
usage_error() { printf 'imgb-install: error: %s (see: sh install.sh --help)\n' "$1" >&2; exit 2; }

usage() { sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'; }

need_value() { [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) need_value "$@"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --version) need_value "$@"; version=$2; shift 2 ;;
    --version=*) version=${1#*=}; shift ;;
    --from) need_value "$@"; from=$2; shift 2 ;;
    --from=*) from=${1#*=}; shift ;;
    --target) need_value "$@"; target=$2; shift 2 ;;
    --target=*) target=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

[ -n "$prefix" ] || usage_error "--prefix is empty"
if [ -n "$from" ] && [ -n "$version" ]; then
  usage_error "--from already names one release's files: drop --version"
fi
version=${version#v}

detect_os() {
  case ${IMGB_INSTALL_OS:-$(uname -s)} in
    linux|Linux) echo linux ;;
    darwin|Darwin) echo darwin ;;
    *) die "unsupported operating system '${IMGB_INSTALL_OS:-$(uname -s)}': releases exist for Linux and macOS" 2 ;;
  esac
}

detect_arch() {
  case ${IMGB_INSTALL_ARCH:-$(uname -m)} in
    x64|x86_64|amd64) echo x64 ;;
    arm64|aarch64|armv8*) echo arm64 ;;
    *) die "unsupported architecture '${IMGB_INSTALL_ARCH:-$(uname -m)}': releases exist for x86_64 and arm64" 2 ;;
  esac
}

# glibc or musl. `ldd --version` names its libc on both; a system without ldd (a minimal
# Alpine) is musl when its loader /lib/ld-musl-* exists and no glibc loader does.
detect_libc() {
  if [ -n "${IMGB_INSTALL_LIBC:-}" ]; then
    case $IMGB_INSTALL_LIBC in
      glibc|musl) echo "$IMGB_INSTALL_LIBC"; return ;;
      *) usage_error "IMGB_INSTALL_LIBC must be glibc or musl, not '$IMGB_INSTALL_LIBC'" ;;
    esac
  fi
  ldd_out=$(ldd --version 2>&1 || true)
  case $ldd_out in
    *musl*) echo musl; return ;;
    *GLIBC*|*"GNU libc"*|*glibc*) echo glibc; return ;;
  esac
  if command -v getconf >/dev/null 2>&1 && getconf GNU_LIBC_VERSION >/dev/null 2>&1; then echo glibc; return; fi
  for f in /lib/ld-linux-*.so.* /lib64/ld-linux-*.so.*; do [ -e "$f" ] && { echo glibc; return; }; done
  for f in /lib/ld-musl-*.so.1; do [ -e "$f" ] && { echo musl; return; }; done
  echo glibc
}

if [ -z "$target" ]; then
  os=$(detect_os)
  arch=$(detect_arch)
  target=$os-$arch
  if [ "$os" = linux ]; then
    libc=$(detect_libc)
    if [ "$libc" = musl ]; then target=$target-musl; fi
  fi
fi
case $target in
  linux-x64|linux-x64-musl|linux-arm64|linux-arm64-musl|darwin-x64|darwin-arm64) ;;
  *) usage_error "unknown target '$target'" ;;
esac
asset=imgb-$target

if [ -z "$from" ]; then
  if [ -n "$version" ]; then from=$RELEASES_URL/download/v$version; else from=$RELEASES_URL/latest/download; fi
fi

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t imgb-install)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# fetch NAME: copy or download one release file into $tmp.
fetch() {
  case $from in
    http://*|https://*)
      if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 -o "$tmp/$1" "$from/$1" || die "download of $from/$1 failed (curl)"
      elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$tmp/$1" "$from/$1" || die "download of $from/$1 failed (wget)"
      else
        die "neither curl nor wget is installed: download $asset and SHA256SUMS by hand and use --from DIR"
      fi ;;
    *)
      [ -d "$from" ] || die "--from '$from' is neither a directory nor an http(s) URL"
      [ -f "$from/$1" ] || die "'$from' has no file '$1' (release files: imgb-<target> and SHA256SUMS)"
      cp "$from/$1" "$tmp/$1" || die "cannot copy '$from/$1'" ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 "$1" | sed 's/.*= *//'
  else die "no sha256sum, shasum or openssl to verify the download with"
  fi
}

say "installing $asset from $from"
fetch SHA256SUMS
fetch "$asset"

expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS")
[ -n "$expected" ] || die "SHA256SUMS from '$from' has no entry for $asset"
actual=$(sha256_of "$tmp/$asset")
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $asset: expected $expected, got $actual (the download is corrupt or was tampered with; nothing was installed)"
fi
say "checksum OK ($actual)"

bindir=$prefix/bin
mkdir -p "$bindir" || die "cannot create '$bindir' (try another --prefix, or run as root)"
# Copy beside the destination, then rename: an imgb running from the old file keeps working.
cp "$tmp/$asset" "$bindir/.imgb.install.$$" 2>/dev/null || die "cannot write to '$bindir' (try another --prefix, or run as root)"
chmod 0755 "$bindir/.imgb.install.$$"
mv -f "$bindir/.imgb.install.$$" "$bindir/imgb" || { rm -f "$bindir/.imgb.install.$$"; die "cannot install '$bindir/imgb'"; }

if installed=$("$bindir/imgb" version 2>/dev/null); then
  say "installed $bindir/imgb: $installed"
else
  say "installed $bindir/imgb ($asset); it does not run here, check the target (musl binaries need libstdc++)"
fi
case ":${PATH:-}:" in
  *":$bindir:"*) ;;
  *) say "note: $bindir is not on PATH" ;;
esac
