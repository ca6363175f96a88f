"""The code's shape, checked from its source: one key registry, handlers that do not lean on each other."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A string that starts like a stored key: a lower-case, hyphenated word and a colon ("nudge:",
# "checkin-prompt:"), with something filled in after it.
KEY_LIKE = re.compile(r"^[a-z][a-z-]*:$|^[a-z][a-z-]*:[^ ]")
# Strings shaped like keys that are not ledger, cause or job-run keys: a form field, the subjects
# of recorded decisions (the PMO's verdicts, decisions asked for).
NOT_LEDGER_KEYS = {
    ("bot/services/checkins.py", "benefit:"),
    ("bot/services/closure.py", "closure:"),
    ("bot/services/closure.py", "reopening:"),
    ("bot/services/overlaps.py", "overlap:"),
    ("bot/services/decisions.py", "decision-request:"),
    ("handlers/outcomes.py", "checkin:"),
}


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).glob("*.py"))


def _key_like_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """The leading literal of every f-string, and every constant assigned to a name, that looks like a key."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            head = str(node.values[0].value)
            if len(node.values) > 1 and KEY_LIKE.match(head):
                found.append((node.lineno, head))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            value = node.value.value
            if isinstance(value, str) and re.fullmatch(r"[a-z][a-z-]*:", value):
                found.append((node.lineno, value))
    return found


def test_every_idempotency_and_cause_key_is_built_in_message_keys() -> None:
    """Two features never build the same stored key two ways: the formats live in one registry."""
    strays = []
    for path in _modules("bot/services", "handlers"):
        relative = path.relative_to(ROOT).as_posix()
        if relative == "bot/services/message_keys.py":
            continue
        for line, head in _key_like_strings(ast.parse(path.read_text(), filename=relative)):
            prefix = head.split(":", 1)[0] + ":"
            if (relative, prefix) not in NOT_LEDGER_KEYS:
                strays.append(f"{relative}:{line}: {head!r}")
    assert strays == [], "build these keys in bot/services/message_keys.py:\n" + "\n".join(strays)


def test_the_registry_builds_each_key_format_once() -> None:
    tree = ast.parse((ROOT / "bot/services/message_keys.py").read_text())
    prefixes = [head.split(":", 1)[0] for _, head in _key_like_strings(tree)]
    assert sorted(prefixes) == sorted(set(prefixes))


# What every handler module may lean on: the pure renderers (Block Kit builders, the pack's
# charts), the delivery core and the one step that sends what the domain owes, the request path,
# the ids, and the slash-command framework.
SHARED_HANDLER_MODULES = {
    "handlers.blocks",
    "handlers.charts",
    "handlers.delivery",
    "handlers.outcomes",
    "handlers.request",
    "handlers.ids",
    "handlers.commands",
}
# The wiring, which exists to know every feature module.
WIRING = {"handlers/__init__.py", "handlers/jobs.py", "handlers/commands.py"}


def _handler_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "handlers":
            names = [node.module] if node.module != "handlers" else [f"handlers.{a.name}" for a in node.names]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "handlers"]
    return found


def _is_shared(module: str) -> bool:
    return any(module == shared or module.startswith(shared + ".") for shared in SHARED_HANDLER_MODULES)


def test_no_handler_module_imports_another_feature_module() -> None:
    """Features send through the delivery core and the request path, never through each other."""
    leaning = []
    for path in _modules("handlers"):
        relative = path.relative_to(ROOT).as_posix()
        if relative in WIRING:
            continue
        for line, module in _handler_imports(ast.parse(path.read_text(), filename=relative)):
            if not _is_shared(module):
                leaning.append(f"{relative}:{line} imports {module}")
    assert leaning == [], "\n".join(leaning)


def test_the_shared_handler_modules_import_no_feature_module() -> None:
    """The delivery core, the outcome step and the request path sit below every feature module."""
    for name in ("delivery", "outcomes", "request"):
        path = ROOT / "handlers" / f"{name}.py"
        imported = [module for _, module in _handler_imports(ast.parse(path.read_text()))]
        assert [
            module
            for module in imported
            if not module.startswith(("handlers.blocks", "handlers.delivery", "handlers.ids"))
        ] == []


# The one place in handlers/ that reads the clock: the request path, once per request. Scheduled
# work is handed its tick's `now` by the scheduler (bot/scheduler.py), so handlers/jobs.py reads none.
READS_THE_CLOCK = {"handlers/request.py"}
# Ways to ask for the time instead of being handed it: the app's clock, the removed
# AppContext.workspace_today, and the system's own.
SYSTEM_TIME = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"), ("time", "time")}


def _clock_reads(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("clock", "workspace_today"):
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and (owner.id, node.func.attr) in SYSTEM_TIME:
                found.append((node.lineno, ast.unparse(node.func)))
        elif isinstance(node, ast.Name) and node.id == "system_clock":
            found.append((node.lineno, node.id))
    return found


def test_only_the_request_path_reads_the_clock_in_handlers() -> None:
    """Listeners, commands, builders and job bodies use the `now` they are handed (the request's one
    read, or the tick's), so one request never sees two days."""
    readers = []
    for path in _modules("handlers", "handlers/blocks"):
        relative = path.relative_to(ROOT).as_posix()
        if relative in READS_THE_CLOCK:
            continue
        for line, read in _clock_reads(ast.parse(path.read_text(), filename=relative)):
            readers.append(f"{relative}:{line} reads {read}")
    assert readers == [], "use the request's `now` (or the tick's):\n" + "\n".join(readers)


def test_the_request_path_reads_the_clock_once() -> None:
    tree = ast.parse((ROOT / "handlers" / "request.py").read_text())
    assert [read for _, read in _clock_reads(tree)] == ["ctx.clock"]
