"""``--seed FILE``: apps, creators and config from a JSON (or YAML) file, applied at start and on
every ``POST /_emulator/reset`` (docs/emulator.md, "Seed file"; example: docs/emulator-seed.example.json).

The file says what the control plane would: ``apps`` are ``POST /_emulator/apps`` bodies,
``creators`` are ``POST /_emulator/creators`` bodies, ``config`` is a ``POST /_emulator/config``
body (the values a reset goes back to), and ``demo_world: false`` starts without the demo app and
creators. It is checked whole before the emulator starts, by the same code the control plane
uses, so a bad value is reported once, with the file, the line and the key: ``SeedError``.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .backend import Backend
from .config import EmulatorConfig
from .errors import ControlError
from .state import App, Creator

TOP_LEVEL_KEYS = ("demo_world", "config", "apps", "creators")
#: What an entry may hold: the state dataclasses' fields (so a field added there is accepted)
#: and the control plane's documented alias.
APP_KEYS = frozenset(f.name for f in dataclasses.fields(App))
CREATOR_KEYS = frozenset({*(f.name for f in dataclasses.fields(Creator)), "avatar"})

Where = tuple[str | int, ...]


class SeedError(ValueError):
    """A seed file that cannot be used; ``str()`` is one line: file, line, key and reason."""


@dataclass(frozen=True)
class Seed:
    """A checked seed file."""

    source: Path
    demo_world: bool = True
    config: dict[str, Any] = field(default_factory=dict)
    apps: list[dict[str, Any]] = field(default_factory=list)
    creators: list[dict[str, Any]] = field(default_factory=list)

    def startup_config(self, base: EmulatorConfig) -> EmulatorConfig:
        """``base`` with the seed's config and demo-world choice: what a reset goes back to."""
        return dataclasses.replace(base.patched(self.config), seed_demo=self.demo_world)

    def apply(self, backend: Backend) -> None:
        """Register the apps, then the creators (after the demo world, if any)."""
        for body in self.apps:
            backend.register_app(copy.deepcopy(body))
        for body in self.creators:
            backend.upsert_creator(copy.deepcopy(body))


def load_seed(path: Path, base: EmulatorConfig) -> Seed:
    """Read and check a seed file; raises SeedError naming the file, line and key at fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{path}: cannot be read ({exc})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        data, lines = _parse_yaml(path, text)
    else:
        data, lines = _parse_json(path, text)
    return _Checker(path, lines).check(data, base)


# ---------------------------------------------------------------------- parsing with lines


def _parse_json(path: Path, text: str) -> tuple[Any, dict[Where, int]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    return data, _json_lines(text)


_SPACE = re.compile(r"[ \t\r\n]*")


def _json_lines(text: str) -> dict[Where, int]:
    """The line of each key and list item of a valid JSON text, by its path."""
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    decoder = json.JSONDecoder()
    lines: dict[Where, int] = {}

    def line_at(index: int) -> int:
        return bisect.bisect_right(newlines, index - 1) + 1

    def skip(index: int) -> int:
        match = _SPACE.match(text, index)
        return match.end() if match else index

    def value(index: int, where: Where) -> int:
        index = skip(index)
        lines.setdefault(where, line_at(index))
        opening = text[index]
        if opening not in "{[":
            return int(decoder.raw_decode(text, index)[1])
        closing = "}" if opening == "{" else "]"
        index = skip(index + 1)
        position = 0
        while text[index] != closing:
            if opening == "{":
                key, after = decoder.raw_decode(text, index)
                lines[(*where, key)] = line_at(index)
                index = value(skip(after) + 1, (*where, key))  # past the ':'
            else:
                index = value(index, (*where, position))
                position += 1
            index = skip(index)
            if text[index] == ",":
                index = skip(index + 1)
        return index + 1

    value(0, ())
    return lines


def _parse_yaml(path: Path, text: str) -> tuple[Any, dict[Where, int]]:
    try:
        import yaml  # type: ignore[import-untyped]  # optional: only for .yaml seeds
    except ImportError:
        raise SeedError(
            f"{path}: YAML seed files need PyYAML (pip install pyyaml); or write it as JSON"
        ) from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SeedError(f"{path}{line}: not valid YAML: {problem}") from None
    lines: dict[Where, int] = {}

    def walk(node: Any, where: Where) -> None:
        lines.setdefault(where, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = (*where, str(key_node.value))
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*where, index))

    if root is not None:
        walk(root, ())
    return data, lines


# ---------------------------------------------------------------------- checking


class _Checker:
    def __init__(self, path: Path, lines: dict[Where, int]) -> None:
        self.path = path
        self.lines = lines

    def error(self, where: Where, message: str) -> SeedError:
        line = self.lines.get(where)
        position = f"{self.path}:{line}" if line else str(self.path)
        name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where).lstrip(".")
        return SeedError(f"{position}: {name or 'the file'}: {message}")

    def check(self, data: Any, base: EmulatorConfig) -> Seed:
        if not isinstance(data, dict):
            raise self.error((), "must be an object with " + ", ".join(TOP_LEVEL_KEYS))
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                raise self.error((key,), f"unknown key; known: {', '.join(TOP_LEVEL_KEYS)}")
        demo_world = data.get("demo_world", True)
        if not isinstance(demo_world, bool):
            raise self.error(("demo_world",), "must be true or false")
        config = data.get("config") or {}
        if not isinstance(config, dict):
            raise self.error(("config",), "must be an object of EmulatorConfig fields")
        for key, value in config.items():
            if key == "seed_demo":
                raise self.error(("config", key), "set demo_world at the top level instead")
            try:
                base.patched({key: value})
            except ValueError as exc:
                raise self.error(("config", key), str(exc)) from None
        apps = self._entries(data, "apps", APP_KEYS)
        creators = self._entries(data, "creators", CREATOR_KEYS)
        seed = Seed(self.path, demo_world, dict(config), apps, creators)
        self._try(seed, base)
        return seed

    def _entries(self, data: dict[str, Any], name: str, known: frozenset[str]) -> list[Any]:
        entries = data.get(name) or []
        if not isinstance(entries, list):
            raise self.error((name,), "must be a list of objects")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise self.error((name, index), "must be an object")
            for key in entry:
                if key not in known:
                    raise self.error((name, index, key), f"unknown key; known: {sorted(known)}")
        return entries

    def _try(self, seed: Seed, base: EmulatorConfig) -> None:
        """Apply the seed to a throwaway backend: the control plane's own checks, in order."""
        backend = Backend(dataclasses.replace(seed.startup_config(base), data_dir=None))
        try:
            for index, body in enumerate(seed.apps):
                required = {k: body.get(k) for k in ("client_key", "client_secret")}
                self._one(("apps", index), body, required, backend.register_app)
            for index, body in enumerate(seed.creators):
                self._one(
                    ("creators", index),
                    body,
                    {"open_id": body.get("open_id")},
                    backend.upsert_creator,
                )
        finally:
            backend.close()

    def _one(
        self,
        where: Where,
        body: dict[str, Any],
        required: dict[str, Any],
        apply: Callable[[dict[str, Any]], Any],
    ) -> None:
        try:
            apply(copy.deepcopy(body))
            return
        except (ControlError, ValueError) as exc:
            whole = exc.message if isinstance(exc, ControlError) else str(exc)
        missing = [key for key in required if key not in body]
        if missing:
            raise self.error(where, f"{missing[0]} is required")
        # Name the key at fault: the required keys alone, then each other key with them.
        for key in [*required, *(k for k in body if k not in required)]:
            try:
                apply(copy.deepcopy({**required, key: body.get(key)}))
            except (ControlError, ValueError) as exc:
                reason = exc.message if isinstance(exc, ControlError) else str(exc)
                raise self.error((*where, key), reason) from None
        raise self.error(where, whole)
