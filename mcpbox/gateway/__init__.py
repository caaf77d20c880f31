"""gateway layer (see STYLE.md)."""
