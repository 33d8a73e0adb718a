#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the workflow's real Slurm check
# (scripts/check-slurm.sh) and for trying the Slurm profile by hand.
#
#   scripts/slurm-local.sh start    install slurm-wlm and munge when missing (apt-get), write
#                                   /etc/slurm/slurm.conf for this host, start munged, slurmctld
#                                   and slurmd, wait until the node is idle
#   scripts/slurm-local.sh stop     stop the daemons this script starts (by their PID files)
#   scripts/slurm-local.sh status   exit 0 when the node answers and is idle or busy
#
# Both are idempotent: start leaves running daemons alone, stop ignores stopped ones. No cgroups
# or systemd are needed (proctrack/linuxproc, task/none), and there is no accounting database:
# job status comes from squeue (as workflow/profiles/slurm asks). Needs root.
set -euo pipefail
CONF=/etc/slurm/slurm.conf
# written by us: a configuration of another origin is never overwritten
MARK="# written by h2g scripts/slurm-local.sh"
PIDS=(/run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid)

say() { echo "slurm-local: $*" >&2; }

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    say "needs root (it installs packages, writes $CONF and starts daemons); run it with sudo"
    exit 2
  fi
}

install() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && command -v sbatch >/dev/null && return 0
  command -v apt-get >/dev/null || { say "slurm-wlm and munge are missing and there is no apt-get"; return 1; }
  say "installing slurm-wlm and munge"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q slurm-wlm munge >/dev/null \
    || { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >/dev/null \
      && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q slurm-wlm munge >/dev/null; }
}

configure() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # 80 % of the memory, in MB: jobs asking more pend forever
  mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
  if [ -e "$CONF" ] && ! grep -qx "$MARK" "$CONF"; then
    say "$CONF exists and was not written by this script: using it as it is"
    return 0
  fi
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  chown slurm:slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  cat >"$CONF.tmp" <<EOF
$MARK
ClusterName=h2g-local
SlurmctldHost=$host
SlurmUser=slurm
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# finished jobs stay visible to squeue this long (the profile without accounting polls squeue)
MinJobAge=300
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

node_state() { timeout 10 sinfo -h -o %T 2>/dev/null | head -n 1 || true; }

start() {
  need_root
  install || { say "cannot install slurm-wlm and munge"; exit 1; }
  configure
  if ! alive /run/munge/munged.pid; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if [ ! -s /etc/munge/munge.key ]; then
      mungekey --create --keyfile=/etc/munge/munge.key
      chown munge:munge /etc/munge/munge.key
      chmod 0400 /etc/munge/munge.key
    fi
    su -s /bin/sh munge -c /usr/sbin/munged
  fi
  alive /run/slurmctld.pid || slurmctld
  alive /run/slurmd.pid || slurmd
  local s
  for _ in $(seq 60); do
    s=$(node_state)
    case "$s" in
      idle* | mixed* | allocated*) say "node $(hostname -s) is $s ($(nproc) CPUs)"; return 0 ;;
      down* | drain*) timeout 10 scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
  done
  say "the node did not come up (state: ${s:-none}); see /var/log/slurm/"
  exit 1
}

stop() {
  need_root
  local f pid
  for f in "${PIDS[@]}"; do
    alive "$f" || continue
    pid=$(cat "$f")
    kill "$pid"
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    say "stopped $(basename "$f" .pid) ($pid)"
  done
  return 0
}

status() {
  case "$(node_state)" in
    idle* | mixed* | allocated*) return 0 ;;
    *) return 1 ;;
  esac
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
