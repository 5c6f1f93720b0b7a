#!/usr/bin/env bash
# start_schedulers.sh - bring up everything the real-scheduler launcher tests
# use (tests/launchers/test_real_schedulers.py) on one Debian 12 machine, as root:
# SLURM (start_slurm.sh), Son of Grid Engine (start_sge.sh) and an sshd on
# loopback with user sshworker (start_sshd.sh).
#
# Idempotent: each script installs only what is missing and starts only the
# daemons that are not running, so it is safe to run while they are up.
# Runs `apt-get update` once first (package lists may be absent or stale on a
# fresh machine), then the three start scripts; all three are tried even if
# one fails. Prints the three "... ready: ..." lines (or each failure's reason
# and log tails) and exits non-zero if any failed.
#
# Stop with ci/stop_sge.sh, ci/stop_slurm.sh, ci/stop_sshd.sh (optional in CI:
# the daemons end with the machine; stopping SGE costs ~10 s).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_DIR=${STATE_DIR:-/var/tmp/ci-sched}
export STATE_DIR
mkdir -p "$STATE_DIR"

if [ "$(id -u)" != 0 ]; then
  echo "start_schedulers.sh: must run as root (it installs packages and starts daemons)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >"$STATE_DIR/apt-update.log" 2>&1; then
  # not fatal: the start scripts retry an update if an install fails
  echo "start_schedulers.sh: apt-get update failed (see $STATE_DIR/apt-update.log); continuing" >&2
fi

rc=0
for s in start_slurm.sh start_sge.sh start_sshd.sh; do
  bash "$HERE/$s" || { echo "start_schedulers.sh: $s failed" >&2; rc=1; }
done
exit "$rc"
