#!/usr/bin/env bash
# Debian packages the service and its tests need. Installs only what is missing (needs root or sudo).
#   scripts/system-deps.sh run    → libzbar0 (QR scanning)
#   scripts/system-deps.sh test   → also mosquitto (tests start their own broker), chromium for page tests,
#                                   poppler-utils, and fonts for Chinese labels
set -euo pipefail
want=(libzbar0 fonts-wqy-microhei)
if [ "${1:-run}" = "test" ]; then
  want+=(mosquitto chromium chromium-driver poppler-utils)
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
