#!/usr/bin/env bash
# Builds the Debian package from a latchkey binary: a staged tree, dpkg-shlibdeps for the
# library dependencies, dpkg-deb. Used by `make package` (the release binary) and
# `make package-test` (a dev-profile one).
#   .ci/package.sh BINARY OUT_DIR [VERSION]
# VERSION defaults to the workspace's ("0.1.0" gives 0.1.0-1). DEB_COMPRESSION=gzip|xz|none.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=$1
out=$2
workspace_version=$(awk '/^\[workspace.package\]/ { p = 1 } p && /^version/ { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)
version=${3:-$workspace_version-1}
arch=$(dpkg --print-architecture)
[ -x "$binary" ] || { echo "package: no binary at $binary" >&2; exit 1; }
"$binary" --version >/dev/null

stage=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/etc/latchkey" "$root/lib/systemd/system" \
  "$root/usr/share/doc/latchkey"
# The binary carries no symbols (the release profile strips; a dev build is stripped here).
install -m 0755 -s "$binary" "$root/usr/bin/latchkey"
# The documented example, with the database where the unit's StateDirectory= puts it.
sed -e 's|^url = "sqlite://latchkey.db"|url = "sqlite:///var/lib/latchkey/latchkey.db"|' \
  docs/latchkey.example.toml > "$root/etc/latchkey/latchkey.toml"
grep -q '^url = "sqlite:///var/lib/latchkey/latchkey.db"' "$root/etc/latchkey/latchkey.toml" \
  || { echo "package: docs/latchkey.example.toml no longer has url = \"sqlite://latchkey.db\"" >&2; exit 1; }
# 0640 from the start; postinst gives the group to latchkey (dpkg-statoverride).
chmod 0640 "$root/etc/latchkey/latchkey.toml"
# Where the unit's LoadCredential= looks: root's only.
install -d -m 0700 "$root/etc/latchkey/credentials"
install -m 0644 packaging/debian/latchkey.service "$root/lib/systemd/system/latchkey.service"
install -m 0644 README.md "$root/usr/share/doc/latchkey/README.md"
install -m 0644 docs/latchkey.example.toml "$root/usr/share/doc/latchkey/latchkey.example.toml"
cat > "$root/usr/share/doc/latchkey/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: latchkey

Files: *
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$root/DEBIAN/$script"
done
echo /etc/latchkey/latchkey.toml > "$root/DEBIAN/conffiles"

# The shared libraries the binary links, as Debian versions them (libc6, libgcc-s1).
mkdir -p "$stage/shlibs/debian"
printf 'Source: latchkey\n\nPackage: latchkey\nArchitecture: any\n' > "$stage/shlibs/debian/control"
shlibs=$(cd "$stage/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/latchkey" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: latchkey
Version: $version
Architecture: $arch
Maintainer: Latchkey maintainers <latchkey@localhost>
Section: net
Priority: optional
Installed-Size: $size
Depends: $shlibs, passwd
Recommends: ca-certificates
Description: self-service 2-step sign-in for an LDAP directory
 Latchkey adds a second step (a texted or spoken code, an authenticator app,
 recovery codes) to sign-ins against OpenLDAP, Active Directory or 389
 Directory Server, with self-service enrolment, an OpenID Connect provider
 and forward authentication for reverse proxies. One binary with its browser
 assets built in, run as a hardened systemd service.
CONTROL
(cd "$root" && find usr lib etc -type f -exec md5sum {} + | grep -v ' etc/' > DEBIAN/md5sums)

mkdir -p "$out"
deb="$out/latchkey_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" ${DEB_LEVEL:+-z"$DEB_LEVEL"} --build "$root" "$deb" >/dev/null
echo "$deb"
