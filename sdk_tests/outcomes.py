"""Per-test outcomes from pytest's junit XML, and their comparison between two runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Outcome:
    status: str  # passed, failed, error, skipped
    message: str


def read_junit(path: Path) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        node_id = junit_node_id(case.get("file", ""), case.get("classname", ""), case.get("name", ""))
        outcome = Outcome("passed", "")
        for tag in ("error", "failure", "skipped"):
            element = case.find(tag)
            if element is not None:
                status = {"failure": "failed"}.get(tag, tag)
                outcome = Outcome(status, first_lines(element.get("message", ""), element.text or ""))
                break
        previous = outcomes.get(node_id)
        if previous is None or rank(outcome) > rank(previous):
            outcomes[node_id] = outcome
    return outcomes


def rank(outcome: Outcome) -> int:
    return {"passed": 0, "skipped": 1, "failed": 2, "error": 3}[outcome.status]


def junit_node_id(file: str, classname: str, name: str) -> str:
    """pytest's node id back from a junit (xunit1) test case: ``path::Class::name``."""
    module = file[: -len(".py")].replace("/", ".") if file.endswith(".py") else ""
    if file and classname.startswith(module):
        rest = classname[len(module) :].lstrip(".")
        return "::".join(part for part in (file, *rest.split("."), name) if part)
    return f"{classname}::{name}"


def first_lines(message: str, text: str, limit: int = 6) -> str:
    lines = [line for line in (message or text).splitlines() if line.strip()]
    if not message:
        # The traceback's last lines carry the error; its first ones only the test's source.
        errors = [line for line in lines if line.lstrip().startswith("E ")]
        lines = errors or lines[-limit:]
    return "\n".join(lines[:limit])


Differences = dict[str, tuple[Outcome, Outcome]]


def compare(plain: dict[str, Outcome], instrumented: dict[str, Outcome]) -> tuple[Differences, int]:
    """The tests whose outcome differs (plain, instrumented), and the count failing in both runs."""
    differ: Differences = {}
    both_failed = 0
    for node_id in sorted(plain.keys() | instrumented.keys()):
        before = plain.get(node_id, Outcome("absent", "not run"))
        after = instrumented.get(node_id, Outcome("absent", "not run"))
        if before.status in ("failed", "error") and after.status in ("failed", "error"):
            both_failed += 1
        elif before.status != after.status:
            differ[node_id] = (before, after)
    return differ, both_failed
