"""A real Apache Kafka broker for local runs and tests: KRaft mode, one node that is broker and controller.

Its jars (``org.apache.kafka:kafka_2.13``) are resolved with the other JVM packages, by
``fitlake.local.jars.broker_jars``, onto a classpath of their own: Spark's carries another kafka-clients and Scala
patch level, and mixing them on one classpath fails at run time.

A broker lives in a work directory: ``server.properties``, ``data/`` (the topics), ``broker.log`` and
``broker.json`` (pid, ports, bootstrap servers), which lets another process (``fitlake kafka stop``) find
and stop it. It listens on 127.0.0.1 only, on free ports chosen at first start and kept for restarts (the
KRaft quorum records the controller's address when the storage is formatted).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from fitlake.errors import FitlakeError
from fitlake.kafka.settings import BROKER_STATE_FILE
from fitlake.local import jars

MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
# A local broker for a few thousand records: a small heap leaves the 2-core CI machine to Spark.
JVM_OPTIONS = ("-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true")
LOCAL_SASL_USER = "fitlake"
_LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.kafkaserver.name = kafka.server.KafkaRaftServer
logger.kafkaserver.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


class BrokerError(FitlakeError):
    """The local Kafka broker could not be started or stopped."""


@dataclass(frozen=True)
class Broker:
    """A running local broker: where clients connect (plaintext and SASL/PLAIN) and how to find it again."""

    work_dir: str
    pid: int
    port: int
    sasl_port: int
    controller_port: int
    sasl_username: str
    sasl_password: str

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def log_file(self) -> Path:
        return Path(self.work_dir) / "broker.log"

    def __repr__(self) -> str:
        return f"Broker({self.bootstrap_servers}, pid {self.pid}, {self.work_dir})"


# ---- start, status, stop ---------------------------------------------------------------------------------


def start(work_dir: Path, *, timeout_seconds: float = 90) -> Broker:
    """Start a broker in ``work_dir`` (or return the one already running there) and wait until it serves."""
    work_dir = work_dir.resolve()
    running = status(work_dir)
    if running is not None:
        return running
    classpath = os.pathsep.join(jars.broker_jars())
    work_dir.mkdir(parents=True, exist_ok=True)
    broker = _configure(work_dir)
    _format_storage(work_dir, classpath)
    log = broker.log_file.open("ab")
    try:
        process = subprocess.Popen(
            _java_command(work_dir, classpath, MAIN_CLASS, str(work_dir / "server.properties")),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session: a Ctrl-C in the terminal that started it does not reach it, and `fitlake kafka
            # stop` from another process is the one way it ends.
            start_new_session=True,
        )
    finally:
        log.close()
    broker = Broker(**{**asdict(broker), "pid": process.pid})
    _write_state(work_dir, broker)
    try:
        _wait_until_serving(broker, process, timeout_seconds)
    except BrokerError:
        _terminate(process.pid, grace_seconds=10)
        (work_dir / BROKER_STATE_FILE).unlink(missing_ok=True)
        raise
    return broker


def status(work_dir: Path) -> Broker | None:
    """The broker running in ``work_dir``, or None (a stale state file is removed)."""
    state = work_dir / BROKER_STATE_FILE
    if not state.is_file():
        return None
    broker = _read_state(state)
    if _is_our_broker(broker):
        return broker
    state.unlink(missing_ok=True)
    return None


def stop(work_dir: Path, *, grace_seconds: float = 30) -> bool:
    """Stop the broker of ``work_dir``: SIGTERM (a clean shutdown), SIGKILL after ``grace_seconds``.

    Returns False when none was running. The data stays: a restart serves the same topics and offsets.
    """
    state = work_dir.resolve() / BROKER_STATE_FILE
    if not state.is_file():
        return False
    broker = _read_state(state)
    stopped = _is_our_broker(broker) and _terminate(broker.pid, grace_seconds)
    state.unlink(missing_ok=True)
    return stopped


def _configure(work_dir: Path) -> Broker:
    """Write server.properties (reusing the ports of an earlier start: the quorum recorded them) and log4j2."""
    previous = work_dir / "ports.json"
    if previous.is_file():
        ports = json.loads(previous.read_text())
    else:
        ports = dict(zip(("port", "sasl_port", "controller_port"), _free_ports(3), strict=True))
        ports["sasl_password"] = secrets.token_urlsafe(16)
        _write_private(previous, json.dumps(ports))
    for name in ("port", "sasl_port", "controller_port"):
        if not _port_free(ports[name]):
            raise BrokerError(
                f"Port {ports[name]} of the local broker in {work_dir} is taken by another program. Free it, or "
                f"delete {work_dir} (its topics go with it) to start afresh on new ports."
            )
    broker = Broker(
        work_dir=str(work_dir),
        pid=0,
        port=ports["port"],
        sasl_port=ports["sasl_port"],
        controller_port=ports["controller_port"],
        sasl_username=LOCAL_SASL_USER,
        sasl_password=ports["sasl_password"],
    )
    _write_private(work_dir / "server.properties", _server_properties(broker, work_dir / "data"))
    (work_dir / "log4j2.properties").write_text(_LOG4J2)
    return broker


def _server_properties(broker: Broker, data: Path) -> str:
    jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'user_{broker.sasl_username}="{broker.sasl_password}";'
    )
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{broker.controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{broker.port},SASL_PLAINTEXT://127.0.0.1:{broker.sasl_port},"
        f"CONTROLLER://127.0.0.1:{broker.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{broker.port},SASL_PLAINTEXT://127.0.0.1:{broker.sasl_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        # SASL/PLAIN with one local user: the same mechanism as Event Hubs' Kafka endpoint, without TLS.
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
        "log.dirs": str(data),
        "num.partitions": "2",
        # Topics are created on purpose (the producer), so a typo in a topic name fails instead of making one.
        "auto.create.topics.enable": "false",
        # Sample records carry their original (2023) CreateTime: time-based retention would delete them at once.
        "log.retention.ms": "-1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _format_storage(work_dir: Path, classpath: str) -> None:
    """``kafka-storage format --standalone`` once per work directory (a formatted one keeps its cluster id)."""
    if (work_dir / "data" / "meta.properties").is_file():
        return
    config = str(work_dir / "server.properties")
    arguments = ("format", "--standalone", "--cluster-id", _cluster_id(), "--config", config)
    command = _java_command(work_dir, classpath, STORAGE_TOOL, *arguments)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BrokerError(
            f"Formatting the local broker's storage in {work_dir} failed (exit {result.returncode}):\n"
            f"{(result.stdout + result.stderr)[-3000:]}"
        )


def _java_command(work_dir: Path, classpath: str, main_class: str, *arguments: str) -> list[str]:
    log4j = f"-Dlog4j2.configurationFile={(work_dir / 'log4j2.properties').as_uri()}"
    return [jars.java(), *JVM_OPTIONS, log4j, "-cp", classpath, main_class, *arguments]


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-' (as Kafka's)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _wait_until_serving(broker: Broker, process: subprocess.Popen, timeout_seconds: float) -> None:
    """Until the broker answers a metadata request with itself registered, or fail with its log's tail."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerError(f"The local Kafka broker exited with code {process.returncode}.\n{_log_tail(broker)}")
        if _port_open(broker.port) and _serves_metadata(broker):
            return
        time.sleep(0.5)
    raise BrokerError(f"The local Kafka broker did not serve within {timeout_seconds:.0f} s.\n{_log_tail(broker)}")


def _serves_metadata(broker: Broker) -> bool:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=5000)
    except KafkaError:
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except KafkaError:
        return False
    finally:
        admin.close()


def _log_tail(broker: Broker, lines: int = 40) -> str:
    if not broker.log_file.is_file():
        return f"(no broker log at {broker.log_file})"
    tail = broker.log_file.read_text(errors="replace").splitlines()[-lines:]
    return f"Last {len(tail)} lines of {broker.log_file}:\n" + "\n".join(tail)


def _write_state(work_dir: Path, broker: Broker) -> None:
    state = work_dir / BROKER_STATE_FILE
    _write_private(state, json.dumps({**asdict(broker), "bootstrap_servers": broker.bootstrap_servers}, indent=2))


def _write_private(path: Path, text: str) -> None:
    """Write a file holding the SASL password so that only its owner can ever read it.

    Created 0600 by ``os.open`` (a write then ``chmod`` leaves a moment at the umask's 0644); an existing
    file keeps its mode when opened, so it is tightened before the new text goes in. A symlink in its place
    is refused (O_NOFOLLOW) rather than followed to wherever it points.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def _read_state(state: Path) -> Broker:
    values = json.loads(state.read_text())
    return Broker(**{name: values[name] for name in Broker.__dataclass_fields__})


def _is_our_broker(broker: Broker) -> bool:
    """The pid is alive and is this work directory's broker (a pid can be reused after a crash or reboot)."""
    try:
        cmdline = Path(f"/proc/{broker.pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{broker.pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
    properties = str(Path(broker.work_dir) / "server.properties").encode()
    return not zombie and MAIN_CLASS.encode() in cmdline and properties in cmdline


def _terminate(pid: int, grace_seconds: float) -> bool:
    """SIGTERM, then SIGKILL after ``grace_seconds``; True once the process is gone."""
    for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 10)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if _reaped(pid):
                return True
            time.sleep(0.2)
    return _reaped(pid)


def _reaped(pid: int) -> bool:
    """True when ``pid`` is gone; reaps it if it is our own exited child (a zombie until then)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return True
    except ChildProcessError:
        pass  # not our child: its parent (init, after a detached start) reaps it
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now (the OS picks them; held together so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
