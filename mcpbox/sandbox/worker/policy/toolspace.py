"""An empty module whose name tool code runs under (``__name__``, and so classes' ``__module__``).

Some standard-library helpers look a class's module up in ``sys.modules`` (``dataclasses`` does
when annotations are strings, as with ``from __future__ import annotations``) and fail on a name
that is not there. This module is that name: real, importable, and holding nothing.
"""
