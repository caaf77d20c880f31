"""sandbox layer (see STYLE.md)."""
