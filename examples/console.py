"""The quickest look at your own calls: spans on the console, no collector, no code beyond ``instrument()``.

Run it from the checkout, in an environment with the ``sdk`` extra and the
``openai`` SDK (the ``cli`` extra has both), with the fault server in a second
terminal::

    python3 -m venv .venv && .venv/bin/pip install -q -e '.[cli]'
    .venv/bin/otel-aierrors chaos --profile flaky       # terminal 1: http://127.0.0.1:8700/v1
    OTEL_TRACES_EXPORTER=console OTEL_METRICS_EXPORTER=none \\
      OPENAI_BASE_URL=http://127.0.0.1:8700/v1 OPENAI_API_KEY=sk-chaos .venv/bin/python examples/console.py

``instrument()`` finds no OpenTelemetry SDK configured, so at the first call
it sets one up from the ``OTEL_*`` variables, as ``opentelemetry-instrument``
would: here the console exporter, so each span is printed as JSON when it ends
(the call span ``chat gpt-4o-mini`` after its ``POST chat`` attempts). Without
those two variables the spans and metrics go over OTLP to
``http://localhost:4318``. CI runs it (``tests/test_examples.py``).
"""

from __future__ import annotations

import openai

import otel_aierrors


def main() -> None:
    otel_aierrors.instrument()
    with openai.OpenAI(max_retries=2, timeout=10) as client:
        for _ in range(5):
            try:
                answer = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello."}]
                )
                print(f"answer from {answer.model}: {answer.choices[0].finish_reason}")
            except openai.APIError as error:
                print(f"failed: {type(error).__name__}")


if __name__ == "__main__":
    main()
