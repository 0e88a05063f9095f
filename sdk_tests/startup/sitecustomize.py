"""Instrument at start-up, in every Python process that has this folder on ``PYTHONPATH``.

Used by ``sdk_tests.run`` for a client's tests that check a fresh subprocess (instructor's
``tests/test_import_lazy_openai.py``: importing instructor must not import openai), which the
pytest plugin cannot reach: here ``otel_aierrors.instrument()`` runs before the test's own
code, as ``opentelemetry-instrument`` would at an application's start-up. (Python imports the
first ``sitecustomize`` on ``sys.path``: this one, placed first; CI's environments have none.)
"""

import otel_aierrors

otel_aierrors.instrument()
