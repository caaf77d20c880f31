"""``python -m mcpbox`` is the ``mcpbox`` command."""

from mcpbox.cli import main

main()
