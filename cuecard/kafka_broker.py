"""The local Kafka broker: one KRaft node (broker and controller) on loopback, and the contract topics."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterable

from cuecard.processes import (
    Service,
    StackError,
    port_open,
    recorded_pid,
    require_free,
    say,
    spawn,
    stop_pid,
    wait_until,
)
from udfs.settings import Settings
from udfs.topics import TOPICS, names

KAFKA = Service("kafka")
CONTRACT_TOPICS = names(TOPICS)


def kafka_classpath(settings: Settings) -> str:
    """The broker's classpath from the jars `make jars` fetched."""
    jars = settings.jars_dir / "kafka"
    if not any(jars.glob("kafka_2.13-*.jar")):
        raise StackError(f"Kafka jars missing in {jars}; run `make jars` (needs Maven Central reachable)")
    return f"{jars}/*"


def _kafka_properties(settings: Settings) -> str:
    data = settings.run_dir / "kafka-data"
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{settings.kafka_controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{settings.kafka_port},CONTROLLER://127.0.0.1:{settings.kafka_controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{settings.kafka_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": str(settings.topic_partitions),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Must be >= the Flink sink's transaction.timeout.ms (flink-conf sets 10 min).
        "transaction.max.timeout.ms": "900000",
        "auto.create.topics.enable": "false",
        "log.retention.hours": "168",
    }
    return "".join(f"{k}={v}\n" for k, v in lines.items())


_KAFKA_LOG4J = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def start_kafka(settings: Settings, java: str) -> int:
    """Format the KRaft storage once, then start the broker; returns its pid."""
    pid = recorded_pid(KAFKA, settings)
    if pid is not None and port_open(settings.kafka_port):
        say(f"Kafka already running (pid {pid}) on {settings.bootstrap_servers}")
        return pid
    if pid is not None:
        stop_pid(pid)
    require_free(settings.kafka_port, "CUECARD_KAFKA_PORT")
    require_free(settings.kafka_controller_port, "CUECARD_KAFKA_CONTROLLER_PORT")
    conf_dir = settings.run_dir / "kafka-conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    props = conf_dir / "server.properties"
    props.write_text(_kafka_properties(settings))
    log4j = conf_dir / "log4j2.properties"
    log4j.write_text(_KAFKA_LOG4J.format(log=settings.run_dir / "logs" / "kafka-server.log"))
    jvm = [
        java,
        "-Xms512m",
        "-Xmx1g",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        kafka_classpath(settings),
    ]
    if not (settings.run_dir / "kafka-data" / "meta.properties").exists():
        cluster_id = uuid.uuid4().hex[:22]
        formatted = subprocess.run(
            [*jvm, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(props)],
            capture_output=True,
            text=True,
            check=False,
        )
        if formatted.returncode != 0:
            raise StackError(f"formatting Kafka storage failed: {formatted.stderr.strip().splitlines()[-1:]}")
    say(f"starting Kafka (KRaft) on {settings.bootstrap_servers}")
    pid = spawn(KAFKA, settings, [*jvm, "kafka.Kafka", str(props)], dict(os.environ))
    wait_until("Kafka", lambda: _kafka_ready(settings), 90, pid, KAFKA.log_file(settings))
    return pid


def _kafka_ready(settings: Settings) -> bool:
    if not port_open(settings.kafka_port):
        return False
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=3000)
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def create_topics(settings: Settings, topics: Iterable[str] = CONTRACT_TOPICS) -> list[str]:
    """Create the topics (default: every topic of the registry) that do not exist yet; returns those created."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            admin.create_topics(
                [NewTopic(t, num_partitions=settings.topic_partitions, replication_factor=1) for t in missing]
            )
        return missing
    finally:
        admin.close()
