"""The real parts the tests (and bench/scale.py) start for themselves, on loopback only, and
stop afterwards: a Postgres cluster and a one-node SLURM, from Debian's packages, installed with
apt-get when they are missing and this is root. Each is a context manager that raises
Unavailable, saying what to install, when it cannot start; conftest.py turns that into a skip
locally and a failure in CI."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


class Unavailable(RuntimeError):
    """The real part is not installed here and cannot be (not root, no apt-get)."""


def apt_install(packages, ready) -> bool:
    """`ready()`, after installing Debian `packages` with apt-get when it is false and this is root
    (first from the package lists there are, then after refreshing them)."""
    if ready():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    for cmd in (install, ["apt-get", "update", "-qq"], install):
        subprocess.run(cmd, env=env, capture_output=True, timeout=1800)
        if ready():
            return True
    return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Postgres: Debian's postgresql, a cluster of its own on 127.0.0.1 (a free port), run by the
# postgres system user.

def _postgres_bin():
    def found():
        return sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))

    return os.path.dirname(found()[-1]) if apt_install(["postgresql"], found) else None


@contextlib.contextmanager
def postgres_server():
    """A function that creates a fresh database on a real Postgres and returns its SQLAlchemy URL."""
    bindir = _postgres_bin()
    if bindir is None or os.geteuid() != 0:
        raise Unavailable("no Postgres to start (Debian: apt-get install postgresql, as root)")
    folder = tempfile.mkdtemp(prefix="course-postgres-")
    os.chmod(folder, 0o755)
    shutil.chown(folder, "postgres", "postgres")
    data = os.path.join(folder, "data")
    port = _free_port()

    def as_postgres(*cmd):
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True,
                              timeout=120, check=True)

    as_postgres(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "course", "--no-sync")
    as_postgres(f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(folder, "log"), "-w", "-o",
                f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
    import psycopg

    def create(name: str) -> str:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=course dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://course@127.0.0.1:{port}/{name}"

    try:
        yield create
    finally:
        as_postgres(f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


# --- SLURM: Debian's slurm-wlm and munge; slurmctld and slurmd of their own (a config, state and
# logs in a temporary folder, their own ports), started as root.

def _slurm_installed() -> bool:
    return apt_install(["slurm-wlm", "munge"],
                       lambda: all(shutil.which(b) for b in ("slurmctld", "slurmd", "sbatch", "munged")))


@contextlib.contextmanager
def slurm_cluster():
    """The environment (SLURM_CONF) under which sbatch, squeue and scancel reach a fresh one-node cluster."""
    if os.geteuid() != 0 or not _slurm_installed():
        raise Unavailable("no SLURM to start (Debian: apt-get install slurm-wlm munge, as root)")
    folder = tempfile.mkdtemp(prefix="course-slurm-")
    host = socket.gethostname().split(".")[0]
    ports = [_free_port(), _free_port()]
    conf = os.path.join(folder, "slurm.conf")
    with open(conf, "w") as f:
        f.write(f"""ClusterName=course
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName={host} CPUs={os.cpu_count() or 1} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    for sub in ("state", "spool"):
        os.makedirs(os.path.join(folder, sub))
    started_munge = subprocess.run(["munge", "-n"], capture_output=True).returncode != 0
    if started_munge:
        if not os.path.exists("/etc/munge/munge.key"):
            subprocess.run(["mungekey", "--create"], capture_output=True, check=True)
        os.makedirs("/run/munge", exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], capture_output=True, check=True)
    env = dict(os.environ, SLURM_CONF=conf)
    subprocess.run(["slurmctld", "-f", conf], env=env, capture_output=True, check=True)
    subprocess.run(["slurmd", "-f", conf], env=env, capture_output=True, check=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True).stdout.strip() != "idle":
        if time.monotonic() > deadline:
            raise RuntimeError(f"SLURM did not come up: {open(os.path.join(folder, 'slurmctld.log')).read()[-2000:]}")
        time.sleep(0.5)
    try:
        yield env
    finally:
        subprocess.run(["scancel", "--full", "-u", "root"], env=env, capture_output=True)
        for name in ("slurmd", "slurmctld"):
            try:
                with open(os.path.join(folder, f"{name}.pid")) as f:
                    os.kill(int(f.read().strip()), 15)
            except (OSError, ValueError):
                pass
        if started_munge:
            subprocess.run(["pkill", "-x", "munged"], capture_output=True)
        time.sleep(1)
        shutil.rmtree(folder, ignore_errors=True)
