#: The SDKs instrumented when installed; any one of them is enough (contrib's
#: ``_instruments_any``). Each is a row of `otel_aierrors._sdks.SDK_ROWS`.
_instruments_any = (
    "openai >= 1.66.0",
    "anthropic >= 0.50.0",
    "groq >= 0.28.0",
    "together >= 2.0.0",
    "cerebras-cloud-sdk >= 1.35.0",
    "fireworks-ai >= 1.2.0",
)
_instruments: tuple[str, ...] = ()

_supports_metrics = True
