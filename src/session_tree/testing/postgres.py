"""A throwaway PostgreSQL cluster in a temp directory, for tests and benchmarks.

    with Cluster.start(tmp_dir) as cluster:
        url = cluster.new_database()   # postgresql://... on a unix socket only

It runs Debian's (or any) ``initdb``/``pg_ctl`` from ``SESSION_TREE_PG_BIN`` or
the newest ``/usr/lib/postgresql/*/bin``, listens on no TCP port (a unix socket
in the directory), and is stopped and removed when the block ends. PostgreSQL
refuses to run as root: as root the cluster belongs to the ``postgres`` system
user (the package makes it) and every command runs through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from urllib.parse import quote


def pg_bin() -> Path | None:
    """Where PostgreSQL's server programs are, or None when it is not installed."""
    given = os.environ.get("SESSION_TREE_PG_BIN")
    if given:
        return Path(given)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class Cluster:
    directory: Path
    bin: Path
    user: str | None  # run as this user (root cannot run postgres), else as ourselves
    _numbers: Iterator[int] = field(default_factory=lambda: count(1))

    @property
    def socket_dir(self) -> Path:
        return self.directory

    def url(self, database: str = "postgres") -> str:
        role = self.user or pwd.getpwuid(os.getuid()).pw_name
        return f"postgresql://{role}@/{database}?host={quote(str(self.socket_dir), safe='')}"

    def run(self, program: str, *args: str) -> str:
        command = [str(self.bin / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def sql(self, statement: str, database: str = "postgres") -> str:
        return self.run(
            "psql", "-h", str(self.socket_dir), "-d", database, "-XAtq", "-c", statement
        )

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"st_{os.getpid()}_{next(self._numbers)}"
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)

    @classmethod
    @contextmanager
    def start(cls, parent: Path | None = None) -> Iterator[Cluster]:
        found = pg_bin()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb); scripts/test installs it")
        user = "postgres" if os.geteuid() == 0 else None
        directory = Path(tempfile.mkdtemp(prefix="st-pg-", dir=parent))
        data = directory / "data"
        if user is not None:
            shutil.chown(directory, user)
        cluster = cls(directory=directory, bin=found, user=user)
        # psql lives beside the client programs, not always in the server's bin.
        if not (found / "psql").exists() and shutil.which("psql"):
            cluster.bin = found
        try:
            cluster.run("initdb", "-D", str(data), "-A", "trust", "-E", "UTF8", "--no-sync")
            options = f"-c listen_addresses='' -k {directory} -c fsync=off -c max_connections=200"
            cluster.run(
                "pg_ctl",
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(directory / "log"),
                "start",
            )
            try:
                yield cluster
            finally:
                cluster.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
