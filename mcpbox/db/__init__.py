"""db layer (see STYLE.md)."""
