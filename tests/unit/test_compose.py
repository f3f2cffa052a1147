"""docker-compose.yml cannot run here (no Docker engine), so it is checked statically."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_topology_is_complete(compose):
    assert {"kafka", "jobmanager", "taskmanager", "submit", "audit-writer"} <= set(compose["services"])
    assert "replicas" not in str(compose["services"]["taskmanager"]), "TaskManagers scale with --scale"


def test_every_build_and_copied_file_exists(compose):
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            dockerfile = ROOT / build["context"] / build["dockerfile"]
            assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
            for source in re.findall(r"^COPY\s+(.+)\s+\S+$", dockerfile.read_text(), flags=re.M):
                for path in source.split():
                    assert (ROOT / path).exists(), f"{dockerfile.name} copies {path}, which does not exist"
        else:
            assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", service["image"]), f"{name}: unpinned image"
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            if host.startswith("."):
                assert (ROOT / host).exists(), f"{name} mounts {host}, which does not exist"


def test_flink_settings_come_from_flink_conf(compose):
    for name in ("jobmanager", "taskmanager"):
        service = compose["services"][name]
        assert any(v.startswith("./flink-conf/config.yaml:") for v in service["volumes"])
        overrides = yaml.safe_load(service["environment"].get("FLINK_PROPERTIES", "")) or {}
        shared = yaml.safe_load((ROOT / "flink-conf" / "config.yaml").read_text())
        clashing = {k for k in overrides if k in shared and k not in ("taskmanager.memory.process.size",)}
        assert not clashing, f"{name} overrides shared Flink settings {clashing}: change flink-conf/ instead"


def test_versions_match_the_local_stack(compose):
    pom = (ROOT / "build" / "pom.xml").read_text()
    kafka_version = re.search(r"<kafka.version>([^<]+)<", pom).group(1)
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version}"
    flink_pin = re.search(r'"apache-flink==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert f"FROM flink:{flink_pin}-java17" in dockerfile
