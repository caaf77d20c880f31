"""The keyring: AES-256-GCM round trip, associated data, fail-closed errors, the 0600 key file."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from mcpbox.crypto.keyring import Keyring, associated_data, load_or_create_keyring
from mcpbox.errors import CryptoError

AAD = associated_data("server_secret", "home", "API_KEY")


def test_encrypt_decrypt_round_trip_with_a_fresh_nonce_each_time() -> None:
    ring = Keyring.generate()
    key_id, blob = ring.encrypt("hunter2 \u2603", AAD)
    _, other = ring.encrypt("hunter2 \u2603", AAD)
    assert key_id == "k1"
    assert blob != other  # random nonce: equal plaintexts do not give equal ciphertexts
    assert "hunter2" not in blob
    assert ring.decrypt(key_id, blob, AAD) == "hunter2 \u2603"


def test_other_associated_data_fails_closed() -> None:
    ring = Keyring.generate()
    key_id, blob = ring.encrypt("v", AAD)
    with pytest.raises(CryptoError, match="failed authentication"):
        ring.decrypt(key_id, blob, associated_data("server_secret", "other", "API_KEY"))


def test_parts_of_associated_data_cannot_be_shifted() -> None:
    assert associated_data("ab", "c") != associated_data("a", "bc")


def test_a_ciphertext_relabelled_with_another_key_id_fails() -> None:
    ring = Keyring.generate().with_new_active_key()
    _, blob = ring.encrypt("v", AAD)
    with pytest.raises(CryptoError):
        ring.decrypt("k1", blob, AAD)


def test_unknown_key_id_wrong_key_and_tampering_fail_closed() -> None:
    ring = Keyring.generate()
    key_id, blob = ring.encrypt("v", AAD)
    with pytest.raises(CryptoError, match="not in the key file"):
        ring.decrypt("k9", blob, AAD)
    with pytest.raises(CryptoError, match="failed authentication"):
        Keyring.generate().decrypt(key_id, blob, AAD)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    with pytest.raises(CryptoError, match="failed authentication"):
        ring.decrypt(key_id, base64.b64encode(bytes(raw)).decode(), AAD)
    for broken in ["not base64!", base64.b64encode(b"short").decode()]:
        with pytest.raises(CryptoError):
            ring.decrypt(key_id, broken, AAD)


def test_errors_and_repr_never_show_key_material(tmp_path: Path) -> None:
    ring = Keyring.generate()
    path = tmp_path / "keys.json"
    ring.create_file(path)
    secret = json.loads(path.read_text())["keys"]["k1"]
    assert secret not in repr(ring)
    with pytest.raises(CryptoError) as info:
        Keyring.generate().decrypt("k1", ring.encrypt("v", AAD)[1], AAD)
    assert secret not in str(info.value)


def test_key_file_is_created_0600_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys.json"
    ring, created = load_or_create_keyring(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = load_or_create_keyring(path)
    assert not created_again
    assert again.decrypt(*ring.encrypt("v", AAD), AAD) == "v"


def test_create_never_overwrites_an_existing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    Keyring.generate().create_file(path)
    with pytest.raises(CryptoError, match="already exists"):
        Keyring.generate().create_file(path)


def test_a_group_or_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    Keyring.generate().create_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(CryptoError, match=f"chmod 600 {path}"):
        Keyring.load(path)


def test_a_missing_or_malformed_key_file_is_a_crypto_error(tmp_path: Path) -> None:
    with pytest.raises(CryptoError, match="missing"):
        Keyring.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    for content in ["{", '{"version": 2}', '{"version": 1, "active": "k1", "keys": {"k1": "AAAA"}}']:
        bad.unlink(missing_ok=True)
        fd = os.open(bad, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, content.encode())
        os.close(fd)
        with pytest.raises(CryptoError):
            Keyring.load(bad)


def test_save_replaces_atomically_and_keeps_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = Keyring.generate()
    ring.create_file(path)
    rotated = ring.with_new_active_key()
    rotated.save(path)
    loaded = Keyring.load(path)
    assert (loaded.active_key_id, loaded.key_ids) == ("k2", ("k1", "k2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temp file left behind
    assert loaded.decrypt(*ring.encrypt("old", AAD), AAD) == "old"


def test_the_active_key_cannot_be_dropped() -> None:
    ring = Keyring.generate().with_new_active_key()
    assert ring.without_keys({"k1"}).key_ids == ("k2",)
    with pytest.raises(CryptoError):
        ring.without_keys({"k2"})
