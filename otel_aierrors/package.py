_instruments = ("openai >= 1.66.0",)

_supports_metrics = True
