"""Where an SDK calls into this package: the wrappers patched onto it.

- `otel_aierrors._patches.calls`: ``request()`` of each SDK's client, the
  call boundary (one call span, the SDK's retry loop inside it);
- `otel_aierrors._patches.transport`: ``send`` of the ``httpx`` / ``httpx2``
  clients, once per HTTP attempt.
"""
