"""db layer (see STYLE.md): the engine seam, table models, migrations and one store per table.

``engine`` (Database: sessions, the serialised write path, StorageError translation), ``models``
(SQLModel tables), ``migrate`` (Alembic, programmatic), ``*_store`` (typed repository functions),
``key_rotation`` (keyring + secrets together).
"""
