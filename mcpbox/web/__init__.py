"""web layer (see STYLE.md)."""
