"""A throwaway PostgreSQL cluster from Debian's packages, run as the `postgres` user.

Sessions run as root and PostgreSQL refuses to run as root, so the cluster directory is owned
by `postgres` and the server is started through `runuser`. Nothing assumes a running server.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port


def pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found; `make test` installs Debian's postgresql")
    return Path(found[-1]).parent


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PgCluster:
    datadir: Path
    port: int
    bindir: Path

    def url(self, db: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        subprocess.run(_as_postgres([str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                                     "-U", "postgres", "-d", "postgres", "-qc", f'CREATE DATABASE "{name}"']),
                       check=True, capture_output=True)
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
                                     "stop"]), capture_output=True)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_cluster() -> PgCluster:
    bindir = pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    datadir = root / "data"
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
                                 "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-w",
                                 "-l", str(root / "log"), "start"]), check=True, capture_output=True)
    return PgCluster(datadir, port, bindir)
