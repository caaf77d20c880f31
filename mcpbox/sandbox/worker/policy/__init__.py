"""The Python-level policy: restricted compilation, run-time guards, module façades.

One of the sandbox's two independent layers (DESIGN.md §5); the other is the process boundary.
``mcpbox.sandbox.worker.runtime`` is the entry point; these modules are its parts:
``transformer`` (compile-time checks), ``guards`` (run-time checks), ``builtins``, ``modules`` and
``facades`` (what tool code can name), ``http_client``, ``output``, ``environment`` (per-call
globals), ``reporting`` (results and error messages) and ``toolspace`` (the module name tool code
runs under).
"""
