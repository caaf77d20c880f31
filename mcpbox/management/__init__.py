"""management layer (see STYLE.md)."""
