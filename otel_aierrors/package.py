_instruments = ("openai >= 1.40.0",)

_supports_metrics = True
