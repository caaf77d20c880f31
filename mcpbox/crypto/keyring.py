"""The encryption keyring: AES-256-GCM keys in a 0600 JSON file, one of them active.

Server secrets are encrypted at rest so that a copied database or backup alone reveals nothing;
the key file lives next to it but is kept separately by the owner (and excluded from backups
unless asked). File format::

    {"version": 1, "active": "k2", "keys": {"k1": "<base64 32 bytes>", "k2": "..."}}

Why each rule exists:

* The file is created with ``O_CREAT | O_EXCL`` and mode 0600, and rewritten through a temp file,
  ``fsync`` and ``os.replace``, so there is never a moment where it is world-readable, half
  written, or silently overwritten by a concurrent first start.
* A key file readable by group or other is refused rather than "fixed": the key may already have
  leaked, and the owner should know.
* Every ciphertext records its key id, and the associated data binds that key id plus the row's
  identity (server name, secret key). A ciphertext copied to another row, or relabelled with
  another key id, fails authentication instead of decrypting under the wrong name.
* Old keys stay in the file after rotation until nothing references them, so a rotation that
  fails half way leaves every secret readable.

All failures raise ``CryptoError`` with a message that names the file or key id but never holds
key material or plaintext. Instances are immutable; rotation builds a new ``Keyring``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mcpbox.errors import CryptoError

logger = logging.getLogger(__name__)

KEYRING_FORMAT_VERSION = 1
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit random nonce: the size GCM is designed for
KEY_ID_PATTERN = re.compile(r"k[1-9][0-9]{0,8}")
# Domain separation: these associated-data bytes can never collide with another use of the key.
_AAD_DOMAIN = b"mcpbox.keyring.v1"


def associated_data(*parts: str) -> bytes:
    """Encode the identity of what is encrypted (e.g. server name and secret key) unambiguously.

    Each part is length-prefixed so ``("ab", "c")`` and ``("a", "bc")`` give different bytes.
    """
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


class Keyring:
    """A set of AES-256-GCM keys by id, one of them used for new encryptions."""

    __slots__ = ("_active", "_keys")

    def __init__(self, active: str, keys: Mapping[str, bytes]) -> None:
        if active not in keys:
            raise CryptoError(f"keyring: active key {active!r} is not among its keys")
        for key_id, key in keys.items():
            if not KEY_ID_PATTERN.fullmatch(key_id):
                raise CryptoError(f"keyring: invalid key id {key_id!r}")
            if len(key) != KEY_BYTES:
                raise CryptoError(f"keyring: key {key_id!r} is not {KEY_BYTES} bytes")
        self._active = active
        self._keys = dict(keys)

    def __repr__(self) -> str:
        return f"Keyring(active={self._active!r}, key_ids={self.key_ids!r})"

    @property
    def active_key_id(self) -> str:
        return self._active

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys, key=_key_number))

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def generate(cls) -> Keyring:
        """A new keyring holding one fresh random key ``k1``."""
        return cls("k1", {"k1": os.urandom(KEY_BYTES)})

    def with_new_active_key(self) -> Keyring:
        """This keyring plus one new random key, which becomes active; old keys stay readable."""
        new_id = f"k{max(_key_number(k) for k in self._keys) + 1}"
        keys = dict(self._keys)
        keys[new_id] = os.urandom(KEY_BYTES)
        return Keyring(new_id, keys)

    def without_keys(self, key_ids: set[str]) -> Keyring:
        """This keyring minus retired keys. The active key can never be dropped."""
        if self._active in key_ids:
            raise CryptoError(f"keyring: refusing to drop the active key {self._active!r}")
        return Keyring(self._active, {k: v for k, v in self._keys.items() if k not in key_ids})

    # -- encryption ---------------------------------------------------------------------------

    def encrypt(self, plaintext: str, aad: bytes) -> tuple[str, str]:
        """Encrypt under the active key. Returns ``(key_id, base64(nonce || ciphertext+tag))``."""
        key_id = self._active
        nonce = os.urandom(NONCE_BYTES)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # loaded on first use (~6 MiB)

        sealed = AESGCM(self._keys[key_id]).encrypt(nonce, plaintext.encode("utf-8"), _bound_aad(key_id, aad))
        return key_id, base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, key_id: str, blob: str, aad: bytes) -> str:
        """Decrypt a value made by ``encrypt``; any mismatch fails closed with ``CryptoError``."""
        key = self._keys.get(key_id)
        if key is None:
            raise CryptoError(
                f"ciphertext uses key id {key_id!r}, which is not in the key file; "
                "restore the key file that encrypted it"
            )
        try:
            raw = base64.b64decode(blob.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise CryptoError("ciphertext is not valid base64") from exc
        if len(raw) < NONCE_BYTES + 16:
            raise CryptoError("ciphertext is too short")
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # loaded on first use (~6 MiB)

        try:
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _bound_aad(key_id, aad))
        except InvalidTag as exc:
            raise CryptoError(
                "ciphertext failed authentication (tampered, moved to another row, or wrong key)"
            ) from exc
        return plain.decode("utf-8")

    # -- the key file -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read a key file, refusing one that group or other may read."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError as exc:
            raise CryptoError(
                f"key file {path} is missing; encrypted secrets cannot be read without it "
                "(restore it from your backup)"
            ) from exc
        except OSError as exc:
            raise CryptoError(f"cannot open key file {path}: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise CryptoError(f"key file {path} is not a regular file")
            if info.st_mode & 0o077:
                raise CryptoError(
                    f"key file {path} is readable or writable by group/other "
                    f"(mode {stat.S_IMODE(info.st_mode):04o}); fix it with: chmod 600 {path}"
                )
            text = handle.read()
        return cls._parse(path, text)

    @classmethod
    def _parse(cls, path: Path, text: bytes) -> Keyring:
        try:
            data: Any = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CryptoError(f"key file {path} is not valid JSON") from exc
        if not isinstance(data, dict) or data.get("version") != KEYRING_FORMAT_VERSION:
            raise CryptoError(f"key file {path}: unsupported format (expected version 1)")
        active, encoded = data.get("active"), data.get("keys")
        if not isinstance(active, str) or not isinstance(encoded, dict) or not encoded:
            raise CryptoError(f"key file {path}: needs an 'active' id and a non-empty 'keys' object")
        keys: dict[str, bytes] = {}
        for key_id, value in encoded.items():
            try:
                keys[key_id] = base64.b64decode(str(value).encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError) as exc:
                raise CryptoError(f"key file {path}: key {key_id!r} is not valid base64") from exc
        return cls(active, keys)

    @classmethod
    def load_or_create(cls, path: Path) -> Keyring:
        """``load_or_create_keyring`` without the "created" flag (see its caveat)."""
        keyring, _created = load_or_create_keyring(path)
        return keyring

    def create_file(self, path: Path) -> None:
        """Write a new key file, mode 0600; fails if one already exists (never overwrite keys)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CryptoError(f"key file {path} already exists; refusing to overwrite it") from exc
        except OSError as exc:
            raise CryptoError(f"cannot create key file {path}: {exc.strerror}") from exc
        self._write_fd(fd, path)
        _fsync_dir(path.parent)

    def save(self, path: Path) -> None:
        """Atomically replace the key file: temp file (0600) in the same dir, fsync, rename."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CryptoError(f"cannot write key file {path}: {exc.strerror}") from exc
        try:
            self._write_fd(fd, path)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def _write_fd(self, fd: int, path: Path) -> None:
        document = {
            "version": KEYRING_FORMAT_VERSION,
            "active": self._active,
            "keys": {k: base64.b64encode(self._keys[k]).decode("ascii") for k in self.key_ids},
        }
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(document, indent=2).encode("utf-8") + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise CryptoError(f"cannot write key file {path}: {exc.strerror}") from exc


def load_or_create_keyring(path: Path) -> tuple[Keyring, bool]:
    """Load the key file, creating it with one fresh key if absent. Returns ``(keyring, created)``.

    Callers that already hold encrypted data should not use this (a lost key file must be an
    error, not a silent new key); see ``mcpbox.db.key_rotation.open_keyring``.
    """
    if path.exists() or path.is_symlink():
        return Keyring.load(path), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keyring = Keyring.generate()
    try:
        keyring.create_file(path)
    except CryptoError:
        if path.exists():  # a concurrent first start won the race: use its keys
            return Keyring.load(path), False
        raise
    return keyring, True


def _bound_aad(key_id: str, aad: bytes) -> bytes:
    return _AAD_DOMAIN + associated_data(key_id) + aad


def _key_number(key_id: str) -> int:
    return int(key_id[1:])


def _fsync_dir(directory: Path) -> None:
    """Make a create/rename durable: the directory entry must reach the disk too."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        logger.debug("cannot open %s to fsync it: %s", directory, exc.strerror)
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        # Unsupported on some filesystems; the create or rename itself has still happened.
        logger.debug("fsync of directory %s failed: %s", directory, exc.strerror)
    finally:
        os.close(fd)
