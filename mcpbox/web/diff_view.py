"""Side-by-side diffs and numbered code for review pages (difflib, no JavaScript).

An owner who approved version 3 should only have to read what version 5 changed: the rows pair
the old and the new line, unchanged stretches longer than the context collapse into one "skip"
row, and every line keeps its real number on both sides. Changes outside the code (description,
schema, modules, hosts) are covered by the approval too, so ``field_changes`` lists them.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from enum import StrEnum
from itertools import zip_longest

from mcpbox.db.tool_records import VersionContent

CONTEXT_LINES = 3
SIMILAR_RATIO = 0.5  # lines at least this similar are shown as one changed line
ALIGN_MAX_PAIRS = 40_000


class RowKind(StrEnum):
    EQUAL = "equal"
    CHANGED = "changed"  # both sides present, different text
    REMOVED = "removed"  # only on the left (old)
    ADDED = "added"  # only on the right (new)
    SKIP = "skip"  # unchanged lines left out


@dataclass(frozen=True, slots=True)
class DiffRow:
    kind: RowKind
    old_number: int | None = None
    old_text: str = ""
    new_number: int | None = None
    new_text: str = ""
    skipped: int = 0  # SKIP rows: how many unchanged lines


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: str
    new: str


def numbered_lines(code: str) -> list[tuple[int, str]]:
    return list(enumerate(code.splitlines() or [""], start=1))


def side_by_side(old: str, new: str, context: int = CONTEXT_LINES) -> list[DiffRow]:
    """Rows of a two-column diff of ``old`` and ``new``; empty when the texts are equal."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    rows: list[DiffRow] = []
    shown_until = 0  # old-line index after the last row shown
    for group in matcher.get_grouped_opcodes(context):
        first_old = group[0][1]
        if first_old > shown_until:
            rows.append(DiffRow(RowKind.SKIP, skipped=first_old - shown_until))
        for tag, i1, i2, j1, j2 in group:
            rows.extend(_rows(tag, old_lines, new_lines, i1, i2, j1, j2))
        shown_until = group[-1][2]
    if rows and shown_until < len(old_lines):
        rows.append(DiffRow(RowKind.SKIP, skipped=len(old_lines) - shown_until))
    return rows


def _rows(tag: str, old: list[str], new: list[str], i1: int, i2: int, j1: int, j2: int) -> list[DiffRow]:
    if tag == "equal":
        return [
            DiffRow(RowKind.EQUAL, i + 1, old[i], j + 1, new[j])
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
        ]
    rows: list[DiffRow] = []
    for i, j in _align(old, new, i1, i2, j1, j2):
        if i is not None and j is not None:
            rows.append(DiffRow(RowKind.CHANGED, i + 1, old[i], j + 1, new[j]))
        elif i is not None:
            rows.append(DiffRow(RowKind.REMOVED, old_number=i + 1, old_text=old[i]))
        elif j is not None:
            rows.append(DiffRow(RowKind.ADDED, new_number=j + 1, new_text=new[j]))
    return rows


def _align(
    old: list[str], new: list[str], i1: int, i2: int, j1: int, j2: int
) -> list[tuple[int | None, int | None]]:
    """Pair each old line of a replaced block with the most similar new line, in order.

    A line inserted before an edited one then shows as added, and the edit as a change of the
    line it came from (not as the old line "becoming" the inserted one). Large blocks, where
    the pairing costs too much, are paired by position.
    """
    if (i2 - i1) * (j2 - j1) > ALIGN_MAX_PAIRS:
        return list(zip_longest(range(i1, i2), range(j1, j2)))
    pairs: list[tuple[int | None, int | None]] = []
    next_new = j1
    for i in range(i1, i2):
        best, best_ratio = None, SIMILAR_RATIO
        for j in range(next_new, j2):
            ratio = difflib.SequenceMatcher(a=old[i], b=new[j], autojunk=False).ratio()
            if ratio > best_ratio:
                best, best_ratio = j, ratio
        if best is None:
            pairs.append((i, None))
            continue
        pairs.extend((None, j) for j in range(next_new, best))
        pairs.append((i, best))
        next_new = best + 1
    pairs.extend((None, j) for j in range(next_new, j2))
    return pairs


def field_changes(old: VersionContent, new: VersionContent) -> list[FieldChange]:
    """What changed besides the code, each side as display text."""
    changes: list[FieldChange] = []
    if old.description != new.description:
        changes.append(FieldChange("description", old.description, new.description))
    if old.input_schema != new.input_schema:
        changes.append(FieldChange("input schema", _json(old.input_schema), _json(new.input_schema)))
    for label, before, after in (("modules", old.modules, new.modules), ("hosts", old.hosts, new.hosts)):
        if before != after:
            changes.append(FieldChange(label, ", ".join(before) or "none", ", ".join(after) or "none"))
    return changes


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)
