"""Side-by-side diffs: real line numbers on both sides, similar lines paired, long runs collapsed."""

from __future__ import annotations

from mcpbox.db.tool_records import VersionContent
from mcpbox.web.diff_view import RowKind, field_changes, numbered_lines, side_by_side


def _kinds(old: str, new: str) -> list[tuple[str, int | None, int | None]]:
    return [(row.kind.value, row.old_number, row.new_number) for row in side_by_side(old, new)]


def test_equal_texts_have_no_rows() -> None:
    assert side_by_side("a\nb\n", "a\nb\n") == []


def test_an_inserted_line_is_added_and_the_edited_line_stays_paired_with_its_original() -> None:
    old = "def main():\n    x = 1\n    return x\n"
    new = "def main():\n    x = 1\n    print(x)\n    return x + 1\n"
    assert _kinds(old, new) == [
        ("equal", 1, 1),
        ("equal", 2, 2),
        ("added", None, 3),
        ("changed", 3, 4),
    ]


def test_removed_lines_keep_their_old_numbers() -> None:
    rows = side_by_side("a\nb\nc\n", "a\nc\n")
    removed = [row for row in rows if row.kind is RowKind.REMOVED]
    assert [(row.old_number, row.old_text) for row in removed] == [(2, "b")]


def test_long_unchanged_stretches_collapse_into_skip_rows() -> None:
    old = "\n".join(f"line {n}" for n in range(1, 41))
    new = old.replace("line 20", "line twenty")
    rows = side_by_side(old, new)
    assert rows[0].kind is RowKind.SKIP
    assert rows[0].skipped == 16  # lines 1-16; 17-19 are context
    assert rows[-1].kind is RowKind.SKIP
    assert rows[-1].skipped == 17  # lines 24-40
    (changed,) = [row for row in rows if row.kind is RowKind.CHANGED]
    assert (changed.old_number, changed.new_number, changed.new_text) == (20, 20, "line twenty")


def test_changes_outside_the_code_are_listed() -> None:
    old = VersionContent("x", "Weather.", {"type": "object"}, ("csv",), ())
    new = VersionContent("x", "Weather now.", {"type": "object", "required": []}, ("csv",), ("api.example",))
    assert [change.field for change in field_changes(old, new)] == ["description", "input schema", "hosts"]
    assert field_changes(old, old) == []


def test_numbered_lines_start_at_one_and_an_empty_text_has_one_line() -> None:
    assert numbered_lines("a\nb") == [(1, "a"), (2, "b")]
    assert numbered_lines("") == [(1, "")]
