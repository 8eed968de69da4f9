"""pgpass files: escaped as libpq reads them, and proven against a real PostgreSQL server."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from components.registry.database import pgpass_file, pgpass_line

PASSWORD = "pa:ss\\wo:rd\\:end"  # both characters pgpass must escape, in awkward places


def test_pgpass_escapes_colon_and_backslash_in_every_field():
    assert pgpass_line("db", 5432, "reg:istry", "us\\er", "a:b\\c") == "db:5432:reg\\:istry:us\\\\er:a\\:b\\\\c"


def test_pgpass_file_has_one_line_per_user_in_a_stable_order():
    text = pgpass_file("db.example.com", 5432, "registry", {"migrator": "m", "app": "a"})
    assert text == "db.example.com:5432:registry:app:a\ndb.example.com:5432:registry:migrator:m\n"


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL in a temp dir, run as `nobody` (PostgreSQL refuses to run as root)."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql; .ci/run does)")
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if as_user and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
    base = Path(tempfile.mkdtemp(prefix="pgpass-test-", dir="/tmp"))
    os.chmod(base, 0o755)
    (base / "admin.pw").write_text("admin-password\n")
    if as_user:
        shutil.chown(base, "nobody")
        shutil.chown(base / "admin.pw", "nobody")
    port = _free_port()

    def run(*cmd, env=None, check=True):
        return subprocess.run([*as_user, *map(str, cmd)], capture_output=True, text=True, timeout=120,
                              env={**{k: v for k, v in os.environ.items() if not k.startswith("PG")}, **(env or {})}, check=check, cwd=base)

    run(bindir / "initdb", "-D", base / "data", "-U", "admin", "--auth=scram-sha-256", "--pwfile", base / "admin.pw")
    run(bindir / "pg_ctl", "-D", base / "data", "-l", base / "log", "-w", "-o",
        f"-k {base} -c listen_addresses=127.0.0.1 -p {port}", "start")
    try:
        run(bindir / "psql", "-h", "127.0.0.1", "-p", port, "-U", "admin", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
            "-c", "CREATE ROLE thv_registry LOGIN PASSWORD '" + PASSWORD.replace("'", "''") + "'",
            env={"PGPASSWORD": "admin-password"})
        yield {"bindir": bindir, "base": base, "port": port, "run": run, "as_user": as_user}
    finally:
        run(bindir / "pg_ctl", "-D", base / "data", "-w", "-m", "immediate", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)


def _connect_with(postgres, pgpass_text: str) -> subprocess.CompletedProcess:
    path = postgres["base"] / "pgpass"
    path.write_text(pgpass_text)
    os.chmod(path, 0o600)
    if postgres["as_user"]:
        shutil.chown(path, "nobody")
    return postgres["run"](postgres["bindir"] / "psql", "-w", "-h", "127.0.0.1", "-p", postgres["port"],
                           "-U", "thv_registry", "-d", "postgres", "-tAc", "select current_user",
                           env={"PGPASSFILE": str(path)}, check=False)


def test_generated_pgpass_authenticates_against_a_real_postgresql(postgres):
    result = _connect_with(postgres, pgpass_file("127.0.0.1", postgres["port"], "postgres", {"thv_registry": PASSWORD}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "thv_registry"


def test_unescaped_pgpass_line_does_not_authenticate(postgres):
    """The control: the same file without escaping is rejected, so the escaping is what makes it work."""
    raw = f"127.0.0.1:{postgres['port']}:postgres:thv_registry:{PASSWORD}\n"
    result = _connect_with(postgres, raw)
    assert result.returncode != 0
    assert "password" in result.stderr.lower()
