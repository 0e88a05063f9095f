"""The ``otel-aierrors`` command line: ``demo``, ``chaos`` and ``doctor``.

Tooling, not instrumentation: ``import otel_aierrors`` never loads this
package. It needs the ``cli`` extra (``pip install 'otel-aierrors[cli]'``).
"""

from __future__ import annotations

from otel_aierrors.cli._main import main

__all__ = ["main"]
