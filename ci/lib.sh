# Helpers shared by the ci/start_*.sh scripts; sourced, not run.

# apt-get install without starting services (policy-rc.d 101) and with a retry on stale lists.
apt_install() {
  local tmp_policy="" rc=0
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; tmp_policy=1
  fi
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ]; then
    apt-get update -q || rc=$?
  fi
  if [ "$rc" = 0 ]; then   # stale package lists (404s): update once and retry
    apt-get install -y -q --no-install-recommends "$@" \
      || { apt-get update -q && apt-get install -y -q --no-install-recommends "$@"; } || rc=$?
  fi
  [ -n "$tmp_policy" ] && rm -f /usr/sbin/policy-rc.d
  return "$rc"
}
