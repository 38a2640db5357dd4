"""The local broker's files that hold its SASL password are readable by their owner only, from the start."""

from __future__ import annotations

import stat

from fitlake.local import kafka

CREDENTIAL_FILES = ("server.properties", "ports.json")


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_holding_the_sasl_password_are_created_0600(tmp_path, monkeypatch):
    created = []
    real_open = kafka.os.open

    def spying_open(path, flags, mode=0o777, *args, **kwargs):
        created.append((str(path).rsplit("/", 1)[-1], mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(kafka.os, "open", spying_open)
    broker = kafka._configure(tmp_path)
    assert broker.sasl_password in (tmp_path / "server.properties").read_text()
    assert {name: mode(tmp_path / name) for name in CREDENTIAL_FILES} == dict.fromkeys(CREDENTIAL_FILES, 0o600)
    # Born 0600 (no write-then-chmod window): each was opened with that mode.
    assert {name for name, m in created if m == 0o600} >= set(CREDENTIAL_FILES)


def test_an_existing_readable_file_is_tightened(tmp_path):
    (tmp_path / "server.properties").write_text("from an older start")
    (tmp_path / "server.properties").chmod(0o644)
    kafka._configure(tmp_path)
    assert mode(tmp_path / "server.properties") == 0o600


def test_the_broker_state_file_is_private(tmp_path):
    broker = kafka.Broker(str(tmp_path), 1, 2, 3, 4, "fitlake", "pw")
    kafka._write_state(tmp_path, broker)
    assert mode(tmp_path / kafka.BROKER_STATE_FILE) == 0o600
