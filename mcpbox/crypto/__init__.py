"""crypto layer (see STYLE.md): pure helpers, no database.

``keyring`` (AES-256-GCM keys in a 0600 file, encrypt/decrypt with associated data) and
``hashing`` (token digests, constant-time comparison).
"""
