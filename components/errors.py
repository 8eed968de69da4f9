"""Errors the program reports to the user: a message that names the config key, never a traceback."""
from __future__ import annotations

import pulumi


class ConfigError(pulumi.RunError):
    """Bad stack configuration. pulumi prints a RunError without a traceback; the renderer exits 2."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  {p}" for p in self.problems))


def all_checked(*steps):
    """The result of each step, in order; when steps raise ConfigError, one ConfigError with every
    step's problems, so a stack with several problems lists them all in one preview."""
    results, problems = [], []
    for step in steps:
        try:
            results.append(step())
        except ConfigError as error:
            problems += error.problems
    if problems:
        raise ConfigError(problems)
    return results
