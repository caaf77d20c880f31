"""observability layer (see STYLE.md)."""
