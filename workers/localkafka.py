"""A local, single-node Apache Kafka broker (KRaft) for development and tests, without Docker.

The broker's jars come from Maven Central through ``kafka/pom.xml`` (the Kafka version lives
there, once) into a cache outside the work tree. ``start`` formats a state directory once and
launches ``java -cp 'libs/*' kafka.Kafka server.properties`` detached; ``stop`` only ever
signals the process named in our pid file, and only after checking it is our broker.

State directory layout (``LocalKafkaConfig.state_dir``)::

    server.properties   regenerated on every start from the config
    cluster.id          random KRaft cluster id, created once
    format.json         what the data dir was formatted with (SCRAM users are fixed then)
    data/               log.dirs (KRaft metadata + topic data)
    broker.pid          pid of the running broker
    broker.log          the broker's stdout/stderr (log4j2 writes to stdout)
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "KAFKA_DIR",
    "BrokerStatus",
    "LocalKafkaConfig",
    "LocalKafkaError",
    "ensure_jars",
    "kafka_version",
    "start",
    "status",
    "stop",
]

#: ``kafka/`` at the repository root: the pom (Kafka version) and the log4j2 config.
KAFKA_DIR = Path(__file__).resolve().parent.parent / "kafka"
_POM = KAFKA_DIR / "pom.xml"
_LOG4J2 = KAFKA_DIR / "log4j2.properties"
_MAIN_CLASS = "kafka.Kafka"
_COMPLETE_MARKER = ".complete.json"
_LOG_TAIL_LINES = 40
# SCRAM credentials are passed on the StorageTool command line in its [name=..,password=..]
# syntax; keep them to characters that need no quoting there.
_SCRAM_SAFE = re.compile(r"^[A-Za-z0-9._@+\-]+$")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LocalKafkaConfig:
    """Where and how the local broker runs. Listeners bind 127.0.0.1 only."""

    port: int = 9092
    controller_port: int = 9093
    state_dir: Path = Path(".wirewatch/kafka")
    # None -> $WIREWATCH_KAFKA_CACHE, else ~/.cache/wirewatch; jars go to <cache>/kafka-<v>/libs
    cache_dir: Path | None = None
    heap: str = "-Xms512m -Xmx1g"
    # A development broker shares a small machine with the workers: the C1 JIT
    # alone and the serial GC spend far less CPU than C2 and G1's threads (the
    # broker used 1.5-1.8 CPU s instead of 3.5-3.9 for an 800-article run of
    # benchmarks/pipeline_bench.py with two workers on 2 cores).
    jvm_options: str = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    # Optional SASL_PLAINTEXT listener (SCRAM-SHA-512); users are created at format time.
    sasl_port: int | None = None
    scram_users: tuple[tuple[str, str], ...] = field(default=(), repr=False)


class LocalKafkaError(RuntimeError):
    """The local broker could not be fetched, started, reached or stopped (message says why)."""


@dataclass
class BrokerStatus:
    running: bool  # the pid file names a live process that is our broker
    pid: int | None
    bootstrap: str  # host:port of the PLAINTEXT listener
    answering: bool  # it answered ApiVersions + Metadata with our cluster id
    log_path: Path


# --------------------------------------------------------------------------- paths


def kafka_version() -> str:
    """The Kafka version pinned in ``kafka/pom.xml`` (``<kafka.version>``)."""
    try:
        text = _POM.read_text(encoding="utf-8")
    except OSError as exc:
        raise LocalKafkaError(f"cannot read {_POM}: {exc}") from exc
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", text)
    if match is None:
        raise LocalKafkaError(f"no <kafka.version> property in {_POM}")
    return match.group(1)


def _cache_root(cfg: LocalKafkaConfig) -> Path:
    if cfg.cache_dir is not None:
        return cfg.cache_dir.expanduser()
    env = os.environ.get("WIREWATCH_KAFKA_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "wirewatch"


def _libs_dir(cfg: LocalKafkaConfig) -> Path:
    return _cache_root(cfg) / f"kafka-{kafka_version()}" / "libs"


def _state(cfg: LocalKafkaConfig) -> Path:
    return cfg.state_dir.expanduser().resolve()


def _props_path(cfg: LocalKafkaConfig) -> Path:
    return _state(cfg) / "server.properties"


def _pid_path(cfg: LocalKafkaConfig) -> Path:
    return _state(cfg) / "broker.pid"


def _log_path(cfg: LocalKafkaConfig) -> Path:
    return _state(cfg) / "broker.log"


def _data_dir(cfg: LocalKafkaConfig) -> Path:
    return _state(cfg) / "data"


def _bootstrap(cfg: LocalKafkaConfig) -> str:
    return f"127.0.0.1:{cfg.port}"


# --------------------------------------------------------------------------- jars


def _pom_digest() -> str:
    return hashlib.sha256(_POM.read_bytes()).hexdigest()


def _jars_complete(libs: Path) -> bool:
    """True when a previous fetch of this very pom finished and its jars are all there."""
    try:
        marker = json.loads((libs / _COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("pom_sha256") != _pom_digest():
        return False
    jars = marker.get("jars")
    return isinstance(jars, list) and bool(jars) and all((libs / str(j)).is_file() for j in jars)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_jars(cfg: LocalKafkaConfig, progress: Progress | None = None) -> Path:
    """Return the libs dir, fetching the jars with Maven only if it is missing or incomplete."""
    libs = _libs_dir(cfg)
    if _jars_complete(libs):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalKafkaError(
            "Maven (mvn) is not on PATH; it is needed once to fetch the Kafka jars "
            f"into {libs} (or copy a complete libs dir there)"
        )
    version = kafka_version()
    # One fetch at a time per cache; the loser of the race finds the jars ready.
    with _file_lock(libs.parent / ".fetch.lock"):
        if _jars_complete(libs):
            return libs
        if progress:
            progress(f"fetching Apache Kafka {version} jars with Maven into {libs} ...")
        tmp = Path(tempfile.mkdtemp(prefix="libs.", dir=libs.parent))
        try:
            cmd = [
                mvn, "-B", "-q", "-f", str(_POM),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime", f"-DoutputDirectory={tmp}",
            ]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
            jars = sorted(p.name for p in tmp.glob("*.jar"))
            if proc.returncode != 0 or f"kafka_2.13-{version}.jar" not in jars:
                out = _tail_text(proc.stdout + proc.stderr)
                raise LocalKafkaError(f"mvn failed to fetch Kafka {version} (exit {proc.returncode}):\n{out}")
            marker = {"pom_sha256": _pom_digest(), "jars": jars}
            (tmp / _COMPLETE_MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
            if libs.exists():
                shutil.rmtree(libs)
            tmp.rename(libs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress(f"Kafka {version} jars ready in {libs}")
    return libs


# --------------------------------------------------------------------------- config & format


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise LocalKafkaError("java is not on PATH (Kafka 4.x needs Java 17+); install a JDK/JRE")
    return java


def _server_properties(cfg: LocalKafkaConfig) -> str:
    listeners = [
        f"PLAINTEXT://127.0.0.1:{cfg.port}",
        f"CONTROLLER://127.0.0.1:{cfg.controller_port}",
    ]
    advertised = [f"PLAINTEXT://127.0.0.1:{cfg.port}"]
    protocols = ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT"]
    lines = [
        "# Generated by workers/localkafka.py on every start; edits are overwritten.",
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{cfg.controller_port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={_data_dir(cfg)}",
        "num.partitions=1",
        "default.replication.factor=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=1",
        # transactions must work (exactly-once): one replica, min ISR 1
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=1",
        # share groups (4.1+): their state topic cannot get the default 3 replicas here
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        # a development broker for a few clients on a small machine: fewer threads
        # handing each request on (defaults 3 and 8) cost less CPU
        "num.network.threads=1",
        "num.io.threads=2",
        # the controller appends a no-op record to the metadata log every 500 ms by default
        # (KIP-835: a liveness signal for other nodes); a single node has none to tell, and
        # without them the idle broker took 1.0% of a core instead of 1.6% (session 14)
        "metadata.max.idle.interval.ms=0",
    ]
    if cfg.sasl_port is not None:
        listeners.append(f"SASL_PLAINTEXT://127.0.0.1:{cfg.sasl_port}")
        advertised.append(f"SASL_PLAINTEXT://127.0.0.1:{cfg.sasl_port}")
        protocols.append("SASL_PLAINTEXT:SASL_PLAINTEXT")
        lines += [
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        ]
    lines += [
        f"listeners={','.join(listeners)}",
        f"advertised.listeners={','.join(advertised)}",
        f"listener.security.protocol.map={','.join(protocols)}",
    ]
    return "\n".join(lines) + "\n"


def _random_cluster_id() -> str:
    # What Kafka's Uuid.randomUuid().toString() gives: url-safe base64, no padding, and never
    # a leading '-' (it would read as a command-line option).
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cid.startswith("-"):
            return cid


def _cluster_id(cfg: LocalKafkaConfig) -> str:
    path = _state(cfg) / "cluster.id"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    cid = _random_cluster_id()
    path.write_text(cid + "\n", encoding="utf-8")
    return cid


def _scram_digest(users: tuple[tuple[str, str], ...]) -> str:
    return hashlib.sha256(json.dumps(sorted(users)).encode("utf-8")).hexdigest()


def _format_once(cfg: LocalKafkaConfig, libs: Path, java: str, progress: Progress | None) -> None:
    """Format the KRaft data dir on first use; refuse a later change of SCRAM users."""
    record_path = _state(cfg) / "format.json"
    digest = _scram_digest(cfg.scram_users)
    if (_data_dir(cfg) / "meta.properties").is_file():
        try:
            recorded = json.loads(record_path.read_text(encoding="utf-8")).get("scram_sha256")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if recorded is not None and recorded != digest:
            raise LocalKafkaError(
                f"{_data_dir(cfg)} was formatted with other SCRAM users; users are only created "
                "at format time: delete that directory to reformat (its topics are lost)"
            )
        return
    for user, password in cfg.scram_users:
        if not (_SCRAM_SAFE.match(user) and _SCRAM_SAFE.match(password)):
            raise LocalKafkaError(f"SCRAM user {user!r}: names and passwords are limited to [A-Za-z0-9._@+-]")
    if cfg.scram_users and cfg.sasl_port is None:
        raise LocalKafkaError("scram_users given but no sasl_port: nothing would use them")
    if progress:
        progress(f"formatting KRaft storage in {_data_dir(cfg)}")
    cmd = [
        java, f"-Dlog4j2.configurationFile={_LOG4J2}", "-cp", f"{libs}/*",
        "kafka.tools.StorageTool", "format",
        "-t", _cluster_id(cfg), "-c", str(_props_path(cfg)),
    ]  # fmt: skip
    for user, password in cfg.scram_users:
        cmd += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, timeout=120)
    if proc.returncode != 0:
        raise LocalKafkaError(
            f"formatting {_data_dir(cfg)} failed (exit {proc.returncode}):\n" + _tail_text(proc.stdout + proc.stderr)
        )
    record = {"scram_sha256": digest, "users": [u for u, _ in cfg.scram_users]}
    record_path.write_text(json.dumps(record, indent=1), encoding="utf-8")


# --------------------------------------------------------------------------- processes


def _read_pid(cfg: LocalKafkaConfig) -> int | None:
    try:
        return int(_pid_path(cfg).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """True if pid is a live process (a zombie child of ours is reaped and counts as dead)."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            # It exited between the waitpid above and now: reap it if it is our child,
            # so no zombie is left under this pid.
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            return False
    return True


def _cmdline(pid: int) -> list[str]:
    proc_file = Path(f"/proc/{pid}/cmdline")
    if proc_file.parent.exists():
        try:
            raw = proc_file.read_bytes()
        except OSError:
            return []
        return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    out = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return out.stdout.split()  # macOS and friends: good enough for the membership test below


def _is_our_broker(cfg: LocalKafkaConfig, pid: int) -> bool:
    args = _cmdline(pid)
    return _MAIN_CLASS in args and str(_props_path(cfg)) in args


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Java's ServerSocket sets SO_REUSEADDR, so TIME_WAIT leftovers do not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tail_text(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _log_tail(cfg: LocalKafkaConfig) -> str:
    try:
        with _log_path(cfg).open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            return _tail_text(handle.read().decode("utf-8", "replace"))
    except OSError:
        return "(no broker log)"


# --------------------------------------------------------------------------- the Kafka probe


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return bytes(buf)


def _request(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    client_id = b"wirewatch-localkafka"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    payload = _recv_exact(sock, size)
    if struct.unpack(">i", payload[:4])[0] != corr:
        raise ConnectionError("correlation id mismatch")
    return payload[4:]


def _probe(port: int, timeout: float) -> str | None:
    """Ask 127.0.0.1:port for ApiVersions then Metadata; return the cluster id if it answers.

    A real Kafka exchange, not just an open port: the broker only serves Metadata with itself
    in the broker list once it has caught up with the KRaft metadata log and is unfenced.
    """
    metadata_version = 4  # v0-3 are gone in Kafka 4 (KIP-896); v4 is in 1.0+ and 4.x alike
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            resp = _request(sock, 18, 0, 1, b"")  # ApiVersions v0
            (error,) = struct.unpack(">h", resp[:2])
            if error != 0:
                return None
            (count,) = struct.unpack(">i", resp[2:6])
            entries = (struct.unpack(">hhh", resp[6 + 6 * i : 12 + 6 * i]) for i in range(count))
            ranges = {key: (low, high) for key, low, high in entries}
            low, high = ranges.get(3, (-1, -1))  # 3 = Metadata
            if not low <= metadata_version <= high:
                return None
            # Metadata v4: topics = [] (none), allow_auto_topic_creation = false
            resp = _request(sock, 3, metadata_version, 2, struct.pack(">ib", 0, 0))
            pos = 4  # throttle_time_ms
            (brokers,) = struct.unpack(">i", resp[pos : pos + 4])
            pos += 4
            for _ in range(brokers):
                pos += 4  # node_id
                (hlen,) = struct.unpack(">h", resp[pos : pos + 2])
                pos += 2 + hlen + 4  # host, port
                (rlen,) = struct.unpack(">h", resp[pos : pos + 2])
                pos += 2 + max(rlen, 0)  # rack (nullable)
            (clen,) = struct.unpack(">h", resp[pos : pos + 2])
            cluster_id = resp[pos + 2 : pos + 2 + clen].decode("utf-8") if clen >= 0 else ""
            return cluster_id if brokers > 0 else None
    except (OSError, ConnectionError, struct.error, UnicodeDecodeError):
        return None


def _answering(cfg: LocalKafkaConfig, timeout: float = 2.0) -> bool:
    cluster_id = _probe(cfg.port, timeout)
    if cluster_id is None:
        return False
    cid_file = _state(cfg) / "cluster.id"
    # Someone else's Kafka on our port does not count as our broker answering.
    return not cid_file.is_file() or cid_file.read_text(encoding="utf-8").strip() == cluster_id


# --------------------------------------------------------------------------- public API


def status(cfg: LocalKafkaConfig) -> BrokerStatus:
    """What the pid file and the listener say, without changing anything."""
    pid = _read_pid(cfg)
    running = pid is not None and _alive(pid) and _is_our_broker(cfg, pid)
    return BrokerStatus(
        running=running,
        pid=pid if running else None,
        bootstrap=_bootstrap(cfg),
        answering=running and _answering(cfg),
        log_path=_log_path(cfg),
    )


def _wait_answering(
    cfg: LocalKafkaConfig, pid: int, deadline: float, proc: subprocess.Popen[bytes] | None
) -> BrokerStatus:
    while True:
        if (proc.poll() is not None) if proc is not None else not _alive(pid):
            _pid_path(cfg).unlink(missing_ok=True)
            raise LocalKafkaError(
                f"the Kafka broker (pid {pid}) died during startup; last lines of {_log_path(cfg)}:\n{_log_tail(cfg)}"
            )
        if _answering(cfg):
            return BrokerStatus(True, pid, _bootstrap(cfg), True, _log_path(cfg))
        if time.monotonic() >= deadline:
            raise LocalKafkaError(
                f"the Kafka broker (pid {pid}) did not answer on {_bootstrap(cfg)} in time; "
                f"last lines of {_log_path(cfg)}:\n{_log_tail(cfg)}"
            )
        time.sleep(0.25)


def start(cfg: LocalKafkaConfig, timeout: float = 90.0, progress: Progress | None = None) -> BrokerStatus:
    """Start the broker (idempotent) and return once it answers Kafka requests."""
    deadline = time.monotonic() + timeout
    if cfg.sasl_port is None and cfg.scram_users:
        raise LocalKafkaError("scram_users given but no sasl_port: nothing would use them")
    state = _state(cfg)
    state.mkdir(parents=True, exist_ok=True)
    with _file_lock(state / ".start.lock"):
        pid = _read_pid(cfg)
        if pid is not None and _alive(pid) and _is_our_broker(cfg, pid):
            with contextlib.suppress(OSError):
                if _props_path(cfg).read_text(encoding="utf-8") != _server_properties(cfg):
                    raise LocalKafkaError(
                        f"a broker (pid {pid}) already runs from {state} with other settings "
                        f"(see {_props_path(cfg)}); stop it first"
                    )
            if progress:
                progress(f"broker already running (pid {pid}); waiting for it to answer")
            return _wait_answering(cfg, pid, deadline, None)
        _pid_path(cfg).unlink(missing_ok=True)  # stale: that process is gone or not ours

        java = _java()
        libs = ensure_jars(cfg, progress)
        ports = {"port": cfg.port, "controller_port": cfg.controller_port}
        if cfg.sasl_port is not None:
            ports["sasl_port"] = cfg.sasl_port
        if len(set(ports.values())) != len(ports):
            raise LocalKafkaError(f"ports must differ: {ports}")
        for name, port in ports.items():
            if not _port_free(port):
                raise LocalKafkaError(
                    f"port {port} ({name}) on 127.0.0.1 is busy: another broker or program "
                    "is listening there; pick other ports or stop it"
                )
        _props_path(cfg).write_text(_server_properties(cfg), encoding="utf-8")
        _format_once(cfg, libs, java, progress)

        cmd = [
            java, *shlex.split(cfg.heap), *shlex.split(cfg.jvm_options), "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={_LOG4J2}",
            "-cp", f"{libs}/*", _MAIN_CLASS, str(_props_path(cfg)),
        ]  # fmt: skip
        if progress:
            progress(f"starting Kafka {kafka_version()} on {_bootstrap(cfg)} (log: {_log_path(cfg)})")
        with _log_path(cfg).open("ab") as log:
            log.write(f"\n=== wirewatch localkafka start {time.ctime()}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=state,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: a Ctrl-C in the caller spares it
            )
        _pid_path(cfg).write_text(f"{proc.pid}\n", encoding="utf-8")
        try:
            return _wait_answering(cfg, proc.pid, deadline, proc)
        except LocalKafkaError:
            if proc.poll() is None:  # timed out: do not leave a half-started broker behind
                _terminate(proc.pid, 10.0)
                _pid_path(cfg).unlink(missing_ok=True)
            raise


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after timeout; returns once the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10.0
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


def stop(cfg: LocalKafkaConfig, timeout: float = 30.0) -> bool:
    """Stop the broker named in our pid file; False if nothing was running.

    Refuses (LocalKafkaError) when the pid is alive but is not our ``kafka.Kafka`` with our
    ``server.properties``: the pid was reused by another program, which is left alone.
    """
    pid = _read_pid(cfg)
    if pid is None:
        return False
    if not _alive(pid):
        _pid_path(cfg).unlink(missing_ok=True)
        return False
    if not _is_our_broker(cfg, pid):
        _pid_path(cfg).unlink(missing_ok=True)  # stale: it cannot name our broker any more
        shown = " ".join(_cmdline(pid))[:200] or "?"
        raise LocalKafkaError(
            f"{_pid_path(cfg)} named pid {pid}, which is not our Kafka broker ({shown!r}); "
            "it was NOT signalled. The stale pid file was removed."
        )
    _terminate(pid, timeout)
    _pid_path(cfg).unlink(missing_ok=True)
    return True
