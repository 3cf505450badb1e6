#!/usr/bin/env python3
"""Run a command against a throwaway PostgreSQL server.

Usage::

    python scripts/with_postgres.py -- CMD [ARGS...]

Starts a private PostgreSQL server in a temporary directory, listening only on
127.0.0.1 on a free port, creates the database ``caseload`` and runs CMD with
``CASELOAD_DATABASE_URL=postgresql://caseload@127.0.0.1:PORT/caseload``.
Afterwards the server is stopped and its directory deleted, whatever happened
(command failure, Ctrl-C, SIGTERM, SIGHUP). The exit code is the command's; 2 means a
usage error, 3 no PostgreSQL server binaries, 4 the server could not be set up.

PostgreSQL refuses to run as root, so as root the server runs as the system
user ``caseload-pg`` (created on first use). Durability is switched off: the
data is thrown away anyway.

Standard library only, so it runs before any virtualenv exists.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

PG_USER = "caseload-pg"  # OS user running the server when we are root
DB_USER = "caseload"  # bootstrap superuser created by initdb
DB_NAME = "caseload"
LOCALES = ("C.UTF-8", "C")  # C.UTF-8 is missing on some systems; C works everywhere
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
}


class SetupError(Exception):
    """The server could not be set up; the message is for the user."""


def log(message: str) -> None:
    """Print one line on stderr, prefixed with the script name."""
    print(f"with_postgres: {message}", file=sys.stderr, flush=True)


def find_bindir() -> Path | None:
    """Return the directory holding ``initdb`` and ``pg_ctl``, or None.

    Tried in order: ``pg_config --bindir``, the newest
    ``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu), then PATH.
    """

    def usable(d: Path) -> bool:
        return all(os.access(d / tool, os.X_OK) for tool in ("initdb", "pg_ctl"))

    candidates: list[Path] = []
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        candidates.append(Path(out.stdout.strip()))
    except (OSError, subprocess.CalledProcessError):
        pass

    def version(path: str) -> tuple[int, ...]:
        found = re.search(r"/postgresql/([\d.]+)/bin$", path)
        return tuple(int(x) for x in found.group(1).split(".") if x) if found else ()

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    return next((d for d in candidates if usable(d)), None)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_system_user() -> None:
    """Create the unprivileged user ``caseload-pg`` if it does not exist (root only)."""
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )


class Server:
    """A PostgreSQL cluster in a temporary directory; call start(), then cleanup()."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.prefix = ["runuser", "-u", PG_USER, "--"] if self.as_root else []
        self.tmp: Path | None = None
        self.port = 0

    @property
    def datadir(self) -> Path:
        return self.tmp / "data"

    @property
    def logfile(self) -> Path:
        return self.tmp / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def run(self, args: list[str], *, as_server_user: bool = True) -> subprocess.CompletedProcess:
        """Run a PostgreSQL tool in its own session (Ctrl-C does not reach it), output captured."""
        cmd = (self.prefix if as_server_user else []) + args
        return subprocess.run(cmd, cwd=self.tmp, capture_output=True, text=True, start_new_session=True)

    def start(self) -> None:
        """Create the cluster, start the server and create the database."""
        if self.as_root:
            ensure_system_user()
        # As root, /tmp explicitly: a private TMPDIR might not be traversable by PG_USER.
        self.tmp = Path(tempfile.mkdtemp(prefix="caseload-pg-", dir="/tmp" if self.as_root else None))
        self.tmp.chmod(0o755)
        if self.as_root:
            shutil.chown(self.tmp, PG_USER, PG_USER)

        initdb = [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", DB_USER, "--auth=trust", "-E", "UTF8"]
        for locale in LOCALES:
            result = self.run(initdb + [f"--locale={locale}"])
            if result.returncode == 0:
                break
        else:
            raise SetupError(f"initdb failed:\n{result.stdout}{result.stderr}")

        self.port = free_port()
        options = ["-p", str(self.port), "-k", str(self.tmp)]
        for key, value in SERVER_SETTINGS.items():
            options += ["-c", f"{key}={value}"]
        result = self.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60",
             "-o", shlex.join(options), "-l", str(self.logfile), "start"]
        )
        if result.returncode != 0:
            raise SetupError(f"pg_ctl start failed:\n{result.stdout}{result.stderr}{self.log_tail()}")

        createdb = self.bindir / "createdb"
        if createdb.exists():
            args = [str(createdb), "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, DB_NAME]
        else:
            psql = shutil.which("psql") or "/usr/bin/psql"
            args = [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, "-d", "postgres",
                    "-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}"]
        result = self.run(args, as_server_user=False)
        if result.returncode != 0:
            raise SetupError(f"creating database {DB_NAME} failed:\n{result.stdout}{result.stderr}")

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines of the server log, or '' if there is none."""
        try:
            text = self.logfile.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "--- server log (tail) ---\n" + "\n".join(text[-lines:]) + "\n"

    def cleanup(self) -> None:
        """Stop the server if it runs and delete the temporary directory."""
        if self.tmp is None:
            return
        pg_ctl = str(self.bindir / "pg_ctl")
        if (self.datadir / "postmaster.pid").exists():
            result = self.run([pg_ctl, "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30", "stop"])
            if result.returncode != 0:
                log(f"fast stop failed, stopping immediately: {result.stderr.strip()}")
                self.run([pg_ctl, "-D", str(self.datadir), "-m", "immediate", "-w", "-t", "30", "stop"])
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None


class Signals:
    """Record SIGINT/SIGTERM/SIGHUP instead of letting them interrupt setup or cleanup.

    While the command runs, SIGTERM/SIGHUP are passed on to it (SIGINT from a
    terminal reaches it directly, being in our process group); a second signal
    kills it. Cleanup then runs as usual.
    """

    def __init__(self) -> None:
        self.received = 0
        self.count = 0
        self.child: subprocess.Popen | None = None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self.handle)

    def handle(self, signum: int, frame: object) -> None:
        self.received = self.received or signum
        self.count += 1
        if self.child is None or self.child.poll() is not None:
            return
        if self.count > 1:
            self.child.kill()
        elif signum != signal.SIGINT:
            self.child.send_signal(signum)


def run_command(cmd: list[str], env: dict[str, str], signals: Signals) -> int:
    """Run ``cmd`` in the foreground and return its exit code (128+N if killed by signal N)."""
    try:
        signals.child = subprocess.Popen(cmd, env=env)
    except OSError as exc:
        log(f"cannot run {cmd[0]!r}: {exc}")
        return 127
    if signals.received:  # a signal arrived just before the child existed
        signals.child.send_signal(signals.received)
    code = signals.child.wait()
    return 128 - code if code < 0 else code


def main(argv: list[str]) -> int:
    """Start the server, run the command, always clean up; return the exit code."""
    cmd = argv[1:] if argv[:1] == ["--"] else argv
    if not cmd:
        print("usage: python scripts/with_postgres.py -- CMD [ARGS...]", file=sys.stderr)
        return 2
    bindir = find_bindir()
    if bindir is None:
        log("no PostgreSQL server binaries (initdb, pg_ctl) found; install them with: apt-get install postgresql")
        return 3

    signals = Signals()
    server = Server(bindir)
    try:
        try:
            server.start()
        except (SetupError, OSError, subprocess.CalledProcessError) as exc:
            log(str(exc).rstrip())
            return 4
        if signals.received:
            return 128 + signals.received
        log(f"CASELOAD_DATABASE_URL={server.url}")
        return run_command(cmd, {**os.environ, "CASELOAD_DATABASE_URL": server.url}, signals)
    finally:
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
