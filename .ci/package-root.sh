#!/usr/bin/env bash
# A clean Debian bookworm for the package test to install into: debootstrap's minbase (what
# every Debian system has) and systemd (its units, for `systemd-analyze verify`), cached as
# target/package/bookworm-minbase.tar: the first run takes a minute or two, later ones nothing.
# From this machine's own Debian mirror. Prints the tarball's path.
set -euo pipefail
cd "$(dirname "$0")/.."

tar=target/package/bookworm-minbase.tar
if [ -s "$tar" ]; then echo "$tar"; exit 0; fi
command -v debootstrap >/dev/null || { echo "package-root: debootstrap is missing (make setup installs it)" >&2; exit 1; }

# The first Debian mirror apt uses here (deb822 .sources or one-line sources.list).
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | awk '/^URIs:/ { uri = $2 } /^Suites:/ && / bookworm( |$)/ && uri ~ /debian\/?$/ { print uri; exit }')
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
fi
mirror=${mirror:-http://deb.debian.org/debian}

mkdir -p target/package
dir=$(mktemp -d target/package/debootstrap.XXXXXX)
# debootstrap mounts /proc and /sys inside while it works: never delete through a mount.
cleanup() { umount -R "$dir/proc" "$dir/sys" 2>/dev/null || true; grep -q " $PWD/$dir/" /proc/mounts || rm -rf "$dir"; }
trap cleanup EXIT
echo "package-root: debootstrap --variant=minbase bookworm from $mirror (once; cached in $tar)" >&2
debootstrap --variant=minbase --include=systemd bookworm "$dir" "$mirror" >"$dir.log" 2>&1 \
  || { tail -20 "$dir.log" >&2; exit 1; }
rm -f "$dir.log"
# apt's downloaded .debs are not needed to install a local package.
rm -f "$dir"/var/cache/apt/archives/*.deb
# The tarball's `.` is the root's `/` (mktemp made it 0700).
chmod 0755 "$dir"
tar -C "$dir" -cf "$tar.part" . && mv "$tar.part" "$tar"
echo "$tar"
