"""``python -m mcpbox.stdio_bridge``: the bridge without the CLI (tests, early adopters)."""

from __future__ import annotations

import os
import sys

from mcpbox.stdio_bridge.entry import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
