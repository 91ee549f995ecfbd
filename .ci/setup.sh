#!/usr/bin/env bash
# Installs everything Latchkey's build, demo and tests need, from the package registries only.
# Idempotent: each step checks first, so a second run takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: OpenLDAP (preseeded so the package creates no instance of its own), the
# LDAP client tools, Chromium for the end-to-end tests, and the reverse proxies the forward-auth
# tests put in front of an app (nginx with auth_request, Caddy with forward_auth), and oathtool,
# the authenticator app the end-to-end tests use (it computes codes from the secret a page
# shows); Samba and 389 Directory Server (below). The tests start their own instances; the packages' post-install scripts start none (policy-rc.d below).
missing=()
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapsearch >/dev/null || missing+=(ldap-utils)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/caddy ] || missing+=(caddy)
command -v oathtool >/dev/null || missing+=(oathtool)
# The package test (`make package-test`): a clean Debian root to install the .deb into, and
# systemd-analyze to verify its unit (systemd need not be running).
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-analyze >/dev/null || missing+=(systemd)
# The other directories organisations run, for the directory matrix tests: Samba as an Active
# Directory domain controller, and 389 Directory Server.
[ -x /usr/sbin/samba ] || missing+=(samba samba-ad-dc samba-ad-provision winbind ldb-tools)
[ -x /usr/sbin/ns-slapd ] || missing+=(389-ds-base)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  echo 'slapd slapd/no_configuration boolean true' | as_root debconf-set-selections
  as_root apt-get update -qq
  # policy-rc.d 101: the packages' post-install scripts start no service (no systemd here, and
  # a stock nginx on port 80 is nobody's business in a test machine).
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -n "$made_policy" ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi

# The wasm target for the hydrate build.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.10 (0.3.11 needs a newer rustc than this machine's).
if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos 0.3.10" ]; then
  say "installing cargo-leptos 0.3.10 (takes 10-15 minutes the first time)"
  cargo install cargo-leptos --version 0.3.10 --locked
fi

# wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock, or hydration fails.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (have: ${have:-none})"
  # --locked can fail when the registry lacks a pinned dependency version: retry without.
  cargo install wasm-bindgen-cli --version "$want" --locked || cargo install wasm-bindgen-cli --version "$want"
fi

# Tailwind's CLI, wasm-opt (npm binaryen: Debian's breaks hydration silently) and
# playwright-core. cargo-leptos finds them in node_modules/.bin, so it never downloads a tool.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The tests use the PostgreSQL server this machine kind runs; start it if it is stopped.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
say "ready"
