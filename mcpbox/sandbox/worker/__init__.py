"""The sandbox worker island: code that runs inside the zygote and its workers.

Standard library and RestrictedPython only (an import-linter contract checks it): it never
imports the server, the database, configuration or httpx. The parent side (pool, egress) may
import from here, never the other way round.
"""
