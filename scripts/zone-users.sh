#!/usr/bin/env bash
# The system users a two-user deployment runs under (docs/design.md, "Two users"): `fieldseal`
# for the host (`fieldseal serve`) and `fieldseal-zone` for the sealed zone (`fieldseal-enclave`).
# Neither has a shell or a home. Run as root; safe to run again.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "error: making system users needs root: run it with sudo" >&2
  exit 1
fi
getent group fieldseal >/dev/null || groupadd --system fieldseal
id fieldseal >/dev/null 2>&1 ||
  useradd --system --gid fieldseal --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin fieldseal
id fieldseal-zone >/dev/null 2>&1 ||
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin fieldseal-zone
echo "system users: $(id fieldseal); $(id fieldseal-zone)"
