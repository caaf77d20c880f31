"""crypto layer (see STYLE.md)."""
