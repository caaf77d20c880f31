"""approvals layer: the owner's decisions on tools, modules and hosts (see STYLE.md)."""
