"""Throwaway ClickHouse servers (Debian's clickhouse-server) and ZooKeeper, for tests and bench.

    server = ClickHouseServer(tmp_path / "ch").start()
    server.url("candor_test")          # clickhouse://candor:…@127.0.0.1:<tcp>/candor_test
    server.stop()                      # SIGTERM by PID, wait

Each server listens on 127.0.0.1 only, on free non-default ports, with its data, logs and
config under its own directory, so a test machine's own ClickHouse (if any) is never touched.
`make system-deps` installs the packages; `SKIP_REASON` says why a test cannot run without them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import unused_port

if TYPE_CHECKING:
    from collections.abc import Sequence

SERVER = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
ZOOKEEPER_JAR = Path("/usr/share/java/zookeeper.jar")
JAVA = shutil.which("java")
USER = "candor"
PASSWORD = "candor-test-password"  # the tests' own throwaway server: not a secret
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.05


def skip_reason() -> str | None:
    """Why a ClickHouse server cannot be started here, or None when it can."""
    if not os.access(SERVER, os.X_OK):
        return "clickhouse-server is not installed (run `make system-deps` as root)"
    return None


def zookeeper_skip_reason() -> str | None:
    """Why ZooKeeper cannot be started here, or None when it can."""
    if JAVA is None or not ZOOKEEPER_JAR.exists():
        return "ZooKeeper (Debian's zookeeper, with Java) is not installed: `make system-deps`"
    return None


class ServerFailed(RuntimeError):
    """A server exited or never became ready; the message carries its log's tail."""


def _die_with_us() -> None:
    """In the child before exec: the kernel kills it if the test process dies (no leftovers)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _wait_gone(process: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class ZooKeeper:
    """A standalone ZooKeeper 3.8 on a free loopback port (for ReplicatedMergeTree)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = unused_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ZooKeeper:
        conf = self.directory / "conf"
        data = self.directory / "data"
        conf.mkdir(parents=True, exist_ok=True)
        data.mkdir(exist_ok=True)
        (conf / "zoo.cfg").write_text(
            f"tickTime=500\ndataDir={data}\nclientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
            "4lw.commands.whitelist=ruok\nmaxClientCnxns=100\n"
        )
        (conf / "log4j.properties").write_text(
            "log4j.rootLogger=WARN, FILE\nlog4j.appender.FILE=org.apache.log4j.FileAppender\n"
            f"log4j.appender.FILE.File={self.directory / 'zookeeper.log'}\n"
            "log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.FILE.layout.ConversionPattern=%d %p %c: %m%n\n"
        )
        classpath = ":".join(
            [str(conf), *sorted(str(p) for p in ZOOKEEPER_JAR.parent.glob("*.jar"))]
        )
        assert JAVA is not None
        with open(self.directory / "stdout", "ab") as out:
            self.process = subprocess.Popen(
                [JAVA, "-Xmx256m", "-cp", classpath,
                 "org.apache.zookeeper.server.ZooKeeperServerMain", str(conf / "zoo.cfg")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_us,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"zookeeper exited: {(self.directory / 'stdout').read_text()}")
            if self._ruok():
                return self
            time.sleep(POLL_S)  # polling interval, not synchronisation
        raise ServerFailed("zookeeper did not answer ruok in time")

    def _ruok(self) -> bool:
        import socket

        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
        ):
            sock.sendall(b"ruok")
            return sock.recv(4) == b"imok"
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            _wait_gone(self.process, STOP_TIMEOUT_S)


class ClickHouseServer:
    """One clickhouse-server process with its own config, ports and data directory.

    `cluster` (name, [[tcp ports of shard 1's replicas], [shard 2's], …]) adds a
    `remote_servers` entry; `zookeeper` and `macros` make ReplicatedMergeTree possible.
    """

    def __init__(
        self,
        directory: Path,
        *,
        cluster: tuple[str, Sequence[Sequence[int]]] | None = None,
        zookeeper: ZooKeeper | None = None,
        macros: dict[str, str] | None = None,
        tcp_port: int | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.directory = directory
        self.http_port = unused_port()
        self.tcp_port = tcp_port or unused_port()
        self.interserver_port = unused_port()
        self.cluster = cluster
        self.zookeeper = zookeeper
        self.macros = macros or {}
        self.tls = tls  # (certificate chain, private key) PEM files: a TLS native port too
        self.secure_port = unused_port() if tls else 0
        self.process: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ where to reach it

    def url(self, database: str, *, password: bool = True, ca: Path | None = None) -> str:
        """A `--store` URL for `database` on this server (the password in it, or not); with
        `ca`, the clickhouses:// form to its TLS port, verified against that CA."""
        secret = f":{PASSWORD}" if password else ""
        if ca is not None:
            return f"clickhouses://{USER}{secret}@127.0.0.1:{self.secure_port}/{database}?ca={ca}"
        return f"clickhouse://{USER}{secret}@127.0.0.1:{self.tcp_port}/{database}"

    def http(self, sql: str, *, timeout: float = 30.0) -> str:
        """Run `sql` through the HTTP interface as the test user; its text answer."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/?user={USER}&password={PASSWORD}",
            data=sql.encode(),
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return str(response.read().decode())

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> ClickHouseServer:
        """Write the config (first time), start the server and wait for /ping; returns self."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        with open(self.directory / "stdout", "ab") as out:
            self.process = subprocess.Popen(
                [SERVER, f"--config-file={config}"],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.directory,
                preexec_fn=_die_with_us,
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"clickhouse-server exited:\n{self.log_tail()}")
            if self._pings():
                return self
            time.sleep(POLL_S)  # polling interval, not synchronisation
        self.kill()
        raise ServerFailed(f"clickhouse-server did not answer /ping:\n{self.log_tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM by PID and wait until it has exited (SIGKILL after `timeout`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            _wait_gone(self.process, timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def log_tail(self, lines: int = 30) -> str:
        texts = []
        for name in ("stdout", "log/server.err.log"):
            with contextlib.suppress(OSError):
                texts += (self.directory / name).read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(texts)

    def _pings(self) -> bool:
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{self.http_port}/ping"
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.read().strip() == b"Ok.")
        return False

    def _write_config(self) -> Path:
        root = self.directory
        for name in ("data", "tmp", "user_files", "format_schemas", "log"):
            (root / name).mkdir(exist_ok=True)
        extra = ""
        if self.cluster is not None:
            name, shards = self.cluster
            shard_xml = "".join(
                "<shard><internal_replication>true</internal_replication>"
                + "".join(
                    f"<replica><host>127.0.0.1</host><port>{port}</port>"
                    f"<user>{USER}</user><password>{PASSWORD}</password></replica>"
                    for port in replicas
                )
                + "</shard>"
                for replicas in shards
            )
            extra += f"<remote_servers><{name}>{shard_xml}</{name}></remote_servers>"
        if self.zookeeper is not None:
            extra += (
                "<zookeeper><node><host>127.0.0.1</host>"
                f"<port>{self.zookeeper.port}</port></node></zookeeper>"
                f"<interserver_http_port>{self.interserver_port}</interserver_http_port>"
                "<interserver_http_host>127.0.0.1</interserver_http_host>"
            )
        if self.tls is not None:
            certificate, key = self.tls
            extra += (
                f"<tcp_port_secure>{self.secure_port}</tcp_port_secure>"
                f"<openSSL><server><certificateFile>{certificate}</certificateFile>"
                f"<privateKeyFile>{key}</privateKeyFile><verificationMode>none</verificationMode>"
                "<loadDefaultCAFile>false</loadDefaultCAFile><cacheSessions>false</cacheSessions>"
                "</server></openSSL>"
            )
        if self.macros:
            extra += "<macros>" + "".join(f"<{k}>{v}</{k}>" for k, v in self.macros.items())
            extra += "</macros>"
        users = root / "users.xml"
        users.write_text(
            "<yandex><profiles><default><max_memory_usage>4000000000</max_memory_usage>"
            "</default></profiles>"
            "<users>"
            f"<{USER}><password>{PASSWORD}</password><networks><ip>127.0.0.1</ip></networks>"
            f"<profile>default</profile><quota>default</quota></{USER}>"
            "<default><password></password><networks><ip>127.0.0.1</ip></networks>"
            "<profile>default</profile><quota>default</quota></default>"
            "</users><quotas><default></default></quotas></yandex>"
        )
        config = root / "config.xml"
        config.write_text(
            "<yandex>"
            f"<logger><level>warning</level><log>{root}/log/server.log</log>"
            f"<errorlog>{root}/log/server.err.log</errorlog><size>10M</size><count>2</count>"
            "</logger>"
            "<listen_host>127.0.0.1</listen_host>"
            f"<http_port>{self.http_port}</http_port><tcp_port>{self.tcp_port}</tcp_port>"
            f"<path>{root}/data/</path><tmp_path>{root}/tmp/</tmp_path>"
            f"<user_files_path>{root}/user_files/</user_files_path>"
            f"<format_schema_path>{root}/format_schemas/</format_schema_path>"
            f"<users_config>{users}</users_config>"
            "<default_profile>default</default_profile><default_database>default</default_database>"
            "<timezone>UTC</timezone><mark_cache_size>268435456</mark_cache_size>"
            "<uncompressed_cache_size>268435456</uncompressed_cache_size>"
            "<max_concurrent_queries>100</max_concurrent_queries>"
            f"{extra}</yandex>"
        )
        return config
