#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for `make test-cluster` (tests/test_cluster.py).
#
#   tests/cluster/slurm.sh up      install Debian's slurm + munge when missing, write slurm.conf,
#                                  start munged/slurmctld/slurmd unless running, wait for an idle node
#   tests/cluster/slurm.sh down    stop the three daemons by the PIDs in their pidfiles
#   tests/cluster/slurm.sh status  exit 0 when all three daemons run, 1 otherwise
#
# Both up and down are idempotent. Needs root and apt-get (Debian 12: slurm 22.05). No systemd is
# assumed: the daemons are started by hand. No accounting database: submit with
# `--slurm-status-command squeue` (MinJobAge below keeps finished jobs visible to squeue/scontrol).
# Exit codes: 0 ok; 77 this machine cannot host the cluster (not root, no apt, packages not
# installable, a foreign slurm.conf); 1 a daemon failed to start or the node never became idle.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by mgbone tests/cluster/slurm.sh"
MUNGE_PID=/run/munge/munged.pid
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
LOG_DIR=/var/log/slurm
PARTITION=debug

say() { echo "slurm.sh: $*"; }
cannot() { echo "slurm.sh: cannot set up a SLURM cluster here: $*" >&2; exit 77; }
fail() { echo "slurm.sh: $*" >&2; exit 1; }

# running <pidfile> <process name>: the pidfile names a live process of that name
running() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/comm ]] && [[ $(</proc/$pid/comm) == "$2" ]]
}

# stop <pidfile> <process name>: SIGTERM the PID from the pidfile and wait up to 20 s
stop() {
    local pid i
    if ! running "$1" "$2"; then
        say "$2 not running"
        return 0
    fi
    pid=$(<"$1")
    kill "$pid"
    for i in $(seq 1 40); do
        running "$1" "$2" || { say "stopped $2 (pid $pid)"; return 0; }
        sleep 0.5
    done
    fail "$2 (pid $pid) did not stop after SIGTERM within 20 s"
}

status() {
    running "$MUNGE_PID" munged && running "$CTLD_PID" slurmctld && running "$SLURMD_PID" slurmd
}

install_packages() {
    local missing=()
    [[ -x /usr/sbin/slurmctld ]] || missing+=(slurmctld)
    [[ -x /usr/sbin/slurmd ]] || missing+=(slurmd)
    command -v sinfo >/dev/null && command -v sbatch >/dev/null || missing+=(slurm-client)
    [[ -x /usr/sbin/munged ]] || missing+=(munge)
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null || cannot "packages ${missing[*]} are missing and there is no apt-get"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local install=(apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge)
    "${install[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && "${install[@]}" >/dev/null; } \
        || cannot "apt-get could not install slurmctld slurmd slurm-client munge (no Debian mirror?)"
}

write_conf() {
    local host cpus mem_mb new
    host=$(hostname -s)
    # nproc honours OMP_NUM_THREADS (the Makefile exports 1): ignore it, keep the CPU affinity
    cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
    # 80 % of MemTotal: RealMemory above what slurmd detects would put the node in INVALID/DRAIN
    mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
    if [[ -e $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        cannot "$CONF exists and was not written by this script; not overwriting it"
    fi
    mkdir -p /etc/slurm
    new=$(mktemp)
    cat >"$new" <<EOF
$MARK; rewritten on every \`up\`.
ClusterName=mgbone-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# no cgroups without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
# no accounting database: sacct does not work, poll job states with squeue
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
# keep finished jobs visible to squeue/scontrol for an hour (status polls, the test's checks)
MinJobAge=3600
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    if [[ -e $CONF ]] && cmp -s "$new" "$CONF"; then
        rm -f "$new"
        return 1  # unchanged
    fi
    install -m 644 "$new" "$CONF"
    rm -f "$new"
    say "wrote $CONF (node $host, CPUs=$cpus, RealMemory=$mem_mb)"
    return 0
}

start_munge() {
    if running "$MUNGE_PID" munged; then
        say "munged already running (pid $(<"$MUNGE_PID"))"
        return 0
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        mungekey --create --keyfile /etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 600 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    # munged refuses to run as root
    su -s /bin/sh munge -c /usr/sbin/munged || fail "munged did not start (see /var/log/munge/munged.log)"
    say "started munged (pid $(<"$MUNGE_PID"))"
}

# start_daemon <binary> <pidfile>: both slurm daemons fork and write their pidfile themselves
start_daemon() {
    local name i
    name=$(basename "$1")
    if running "$2" "$name"; then
        say "$name already running (pid $(<"$2"))"
        return 0
    fi
    "$1" || fail "$name did not start (see $LOG_DIR/$name.log)"
    for i in $(seq 1 20); do
        running "$2" "$name" && { say "started $name (pid $(<"$2"))"; return 0; }
        sleep 0.5
    done
    fail "$name did not write $2 (see $LOG_DIR/$name.log)"
}

wait_idle() {
    local host state i
    host=$(hostname -s)
    for i in $(seq 1 60); do
        state=$(sinfo -h -N -n "$host" -o %T 2>/dev/null | head -1 || true)
        case $state in
            idle | mixed | allocated) say "node $host is $state in partition $PARTITION"; return 0 ;;
            drain* | down*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    sinfo -N -l >&2 || true
    fail "node $host not idle after 60 s (state '${state:-none}'); see $LOG_DIR/slurmctld.log and slurmd.log"
}

up() {
    [[ $(id -u) == 0 ]] || cannot "needs root (packages, daemons, /etc/slurm); run as root"
    install_packages
    local changed=0
    write_conf && changed=1
    if ((changed)); then
        # a running daemon would keep the old node/partition definitions
        stop "$SLURMD_PID" slurmd
        stop "$CTLD_PID" slurmctld
    fi
    mkdir -p /var/spool/slurmctld /var/spool/slurmd "$LOG_DIR"
    start_munge
    start_daemon /usr/sbin/slurmctld "$CTLD_PID"
    start_daemon /usr/sbin/slurmd "$SLURMD_PID"
    wait_idle
}

down() {
    [[ $(id -u) == 0 ]] || cannot "needs root to stop the daemons"
    stop "$SLURMD_PID" slurmd
    stop "$CTLD_PID" slurmctld
    stop "$MUNGE_PID" munged
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
