"""tools layer (see STYLE.md)."""
