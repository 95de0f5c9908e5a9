"""``--state-dir``: the emulator's world kept across restarts (docs/emulator.md, "Keep state").

What is kept is read generically off the backend: every attribute ``Core.reset()`` and the
mixins set (apps, creators, codes, tokens, publishes, uploads, posts, webhook deliveries, caps'
counters, faults, refusals, the run-time config), plus the clock offset and the media files. Values
are turned into JSON by their type, not by a list of fields: dataclasses of the emulator (by
class name, every field), lists, dicts, tuples, deques, sets, paths and bytes. So a field added to
a state dataclass, or a new attribute set in ``reset()``, is kept without touching this module as
long as it holds plain values. An object held twice (a ``Token`` in ``tokens`` and in
``refresh_index``) is written once and comes back as one object. Not kept: what the runtime
holds beside the backend (the request log of ``GET /_emulator/requests``, the compliance log).

Saving: after a change (a request answered, background work running, the clock moved), at most once
per ``SAVE_INTERVAL_S`` (longer for a world so big that saving would take more than
1/``SAVE_COST_SHARE`` of the time), from the ticker; the snapshot is taken on the event loop
(consistent), then serialised and written by a worker thread (temporary file, fsync, rename: a
reader never sees half a file). A last save runs on shutdown. A SIGKILL loses what changed since
the last save: at most that window. Without ``--state-dir`` none of this runs.

A state file of another format version is refused with a clear error rather than started over
from scratch: a clean start would overwrite it on the next save.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .config import EmulatorConfig

if TYPE_CHECKING:
    from .backend import Backend
    from .runtime import Runtime

logger = logging.getLogger(__name__)

STATE_FORMAT = "directpost-emulator-state"
STATE_VERSION = 1
STATE_FILE = "state.json"
#: The debounce window: a change is on disk at most this long after it happened (longer for a
#: world so big that its snapshot takes over 1/SAVE_COST_SHARE of it).
SAVE_INTERVAL_S = 1.0
SAVE_COST_SHARE = 25
#: Backend attributes that describe where and how it runs, not the world it holds.
NOT_KEPT = frozenset({"initial_config", "data_dir", "_own_tmp", "clock"})
#: Classes a state file may name: the emulator's own (a state file is data, not code).
_CLASS_PREFIX = "directpost.emulator."
_MEDIA = "media"
_MEDIA_KEPT = "media.kept"


class StateFileError(ValueError):
    """The state file cannot be read back; the message is one line that says what to do."""


# ---------------------------------------------------------------------- values <-> JSON


_PLAIN = frozenset({str, int, float, bool, type(None)})
#: Field names per dataclass (``dataclasses.fields`` is slow enough to show in a save).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


class _Encoder:
    """Turns backend values into JSON; an object seen twice becomes a reference to the first.

    Every container it returns is new (the leaves are immutable), so the result can be
    serialised off the event loop while the world goes on changing.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_root = str(data_dir).rstrip(os.sep) + os.sep
        self.seen: dict[int, int] = {}

    def encode(self, value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is list:
            return [v if type(v) in _PLAIN else self.encode(v) for v in value]
        if kind is dict:
            if all(type(k) is str and not k.startswith("__") for k in value):
                return {k: v if type(v) in _PLAIN else self.encode(v) for k, v in value.items()}
            return {"__items__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if hasattr(kind, "__dataclass_fields__"):
            return self._dataclass(value)
        return self._other(value)

    def _other(self, value: Any) -> Any:
        if isinstance(value, bool | int | float | str):  # subclasses (enums of str and int)
            return value
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, deque):
            return {"__deque__": [self.encode(v) for v in value], "maxlen": value.maxlen}
        if isinstance(value, set | frozenset):
            tag = "__frozenset__" if isinstance(value, frozenset) else "__set__"
            return {tag: [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return self.encode(dict(value))
        if isinstance(value, Path):
            # Media paths are kept relative to the data folder, so the state survives the
            # folder being mounted elsewhere (a container volume).
            text = str(value)
            if text.startswith(self.data_root):
                return {"__path__": text[len(self.data_root) :], "in_data_dir": True}
            return {"__path__": text}
        if isinstance(value, bytes):
            return {"__bytes__": base64.b64encode(value).decode()}
        raise TypeError(f"a {type(value).__qualname__} cannot be saved")

    def _dataclass(self, obj: Any) -> dict[str, Any]:
        ref = self.seen.get(id(obj))
        if ref is not None:
            return {"__ref__": ref}
        ref = self.seen[id(obj)] = len(self.seen)
        cls = type(obj)
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(obj))
        fields = {}
        for name in names:
            value = getattr(obj, name)
            fields[name] = value if type(value) in _PLAIN else self.encode(value)
        return {
            "__dataclass__": f"{cls.__module__}:{cls.__qualname__}",
            "__id__": ref,
            "fields": fields,
        }


class _Decoder:
    """The reverse of ``_Encoder``; notes fields a class no longer has (they are dropped)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.objects: dict[int, Any] = {}
        self.dropped: set[str] = set()

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__dataclass__" in value:
            return self._dataclass(value)
        if "__ref__" in value:
            try:
                return self.objects[value["__ref__"]]
            except KeyError:
                raise ValueError(f"reference to object {value['__ref__']} before it") from None
        if "__tuple__" in value:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__deque__" in value:
            return deque((self.decode(v) for v in value["__deque__"]), value.get("maxlen"))
        if "__set__" in value:
            return {self.decode(v) for v in value["__set__"]}
        if "__frozenset__" in value:
            return frozenset(self.decode(v) for v in value["__frozenset__"])
        if "__items__" in value:
            return {self._key(k): self.decode(v) for k, v in value["__items__"]}
        if "__path__" in value:
            path = Path(value["__path__"])
            return self.data_dir / path if value.get("in_data_dir") else path
        if "__bytes__" in value:
            return base64.b64decode(value["__bytes__"])
        return {k: self.decode(v) for k, v in value.items()}

    def _key(self, raw: Any) -> Any:
        key = self.decode(raw)
        return tuple(key) if isinstance(key, list) else key

    def _dataclass(self, value: dict[str, Any]) -> Any:
        name = str(value["__dataclass__"])
        module_name, _, qualname = name.partition(":")
        if not (module_name + ".").startswith(_CLASS_PREFIX):
            raise ValueError(f"class {name} is not one of the emulator's")
        try:
            cls: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError):
            raise ValueError(f"class {name} no longer exists") from None
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"{name} is not a dataclass")
        saved = value.get("fields", {})
        kwargs: dict[str, Any] = {}
        late: dict[str, Any] = {}
        names = set()
        for f in dataclasses.fields(cls):
            names.add(f.name)
            if f.name not in saved:
                continue  # a field added since: its default
            (kwargs if f.init else late)[f.name] = self.decode(saved[f.name])
        self.dropped.update(f"{qualname}.{n}" for n in saved if n not in names)
        obj = cls(**kwargs)
        for key, item in late.items():
            object.__setattr__(obj, key, item)
        self.objects[int(value["__id__"])] = obj
        return obj


# ---------------------------------------------------------------------- snapshot and restore


def snapshot(backend: Backend) -> dict[str, Any]:
    """The backend's world as one JSON-ready dict (attributes that cannot be saved are left out,
    with a warning the first time)."""
    encoder = _Encoder(backend.data_dir)
    kept: dict[str, Any] = {}
    for name, value in vars(backend).items():
        if name in NOT_KEPT:
            continue
        seen_before = dict(encoder.seen)
        try:
            kept[name] = encoder.encode(value)
        except TypeError as exc:
            encoder.seen = seen_before  # nothing later may refer to what was not written
            _warn_once(f"emulator state: backend.{name} is not kept across restarts ({exc})")
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "saved_at": time.time(),
        "clock_offset": backend.clock.offset,
        "initial_config": _Encoder(backend.data_dir).encode(backend.initial_config),
        "backend": kept,
    }


def restore(backend: Backend, saved: Any, source: Path) -> list[str]:
    """Put a saved world into ``backend``; returns warnings (fields dropped). Raises
    StateFileError when ``saved`` is not a state this version can read."""
    if not isinstance(saved, dict) or saved.get("format") != STATE_FORMAT:
        raise StateFileError(f"{source} is not an emulator state file")
    if saved.get("version") != STATE_VERSION:
        raise StateFileError(
            f"{source} has state format version {saved.get('version')!r}, this emulator reads "
            f"version {STATE_VERSION}: move it away or start with an empty --state-dir"
        )
    decoder = _Decoder(backend.data_dir)
    try:
        values = {name: decoder.decode(raw) for name, raw in saved["backend"].items()}
        saved_initial = decoder.decode(saved["initial_config"])
        offset = float(saved.get("clock_offset", 0.0))
    except (ValueError, TypeError, KeyError) as exc:
        raise StateFileError(f"{source} cannot be read back: {exc}") from None
    saved_config = values.pop("config", None)
    for name, value in values.items():
        setattr(backend, name, value)
    backend.config = _merge_config(backend.initial_config, saved_initial, saved_config)
    backend.clock.offset = offset
    return [f"saved field {name} no longer exists; dropped" for name in sorted(decoder.dropped)]


def _merge_config(start: EmulatorConfig, saved_start: Any, saved: Any) -> EmulatorConfig:
    """The run-time config to resume with: what was changed at run time survives, except where
    this start's options (command line, seed) differ from the saved start's: those win."""
    if not isinstance(saved, EmulatorConfig) or not isinstance(saved_start, EmulatorConfig):
        return start
    changed = {
        f.name: getattr(start, f.name)
        for f in dataclasses.fields(EmulatorConfig)
        if f.name == "data_dir" or getattr(start, f.name) != getattr(saved_start, f.name)
    }
    return dataclasses.replace(saved, **changed)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


# ---------------------------------------------------------------------- the state folder


def keep_media_aside(data_dir: Path) -> None:
    """Move the saved media out of the way of the backend's start (``reset()`` empties
    ``<data_dir>/media``); ``bring_media_back`` returns it once the state is loaded."""
    media, kept = data_dir / _MEDIA, data_dir / _MEDIA_KEPT
    if kept.exists():  # a start that stopped half-way: the media is still in media.kept
        shutil.rmtree(media, ignore_errors=True)
    elif media.exists():
        media.rename(kept)


def bring_media_back(data_dir: Path) -> None:
    media, kept = data_dir / _MEDIA, data_dir / _MEDIA_KEPT
    if kept.exists():
        shutil.rmtree(media, ignore_errors=True)
        kept.rename(media)
    media.mkdir(parents=True, exist_ok=True)


def read_state_file(path: Path) -> Any:
    """The saved JSON, or None when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"{path} cannot be read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateFileError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None


class _AtomicWriter:
    """Writes files whole (temporary file, fsync, rename), newest snapshot last."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._written = 0

    def write(self, text: str, number: int) -> None:
        with self._lock:
            if number <= self._written:
                return  # a newer snapshot is already on disk
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
            self._written = number


class StateKeeper:
    """Loads the state at start, saves it (debounced) while running and once more on shutdown."""

    def __init__(self, runtime: Runtime, state_dir: Path, interval_s: float = SAVE_INTERVAL_S):
        self.runtime = runtime
        self.path = state_dir / STATE_FILE
        self.interval_s = interval_s
        self._writer = _AtomicWriter(self.path)
        self._changes = 0  # bumped after each answered request
        self._saved_changes = 0
        self._saved_offset = runtime.backend.clock.offset
        self._number = 0
        self._last_save = time.monotonic()
        self._window_s = interval_s
        self._snapshot_s = 0.0
        self._writing = False
        self._restored = False

    def load(self) -> list[str]:
        """Restore the saved world, if any; returns lines to print (what was restored).
        ``resume()`` then restarts its background work."""
        saved = read_state_file(self.path)
        if saved is None:
            return [f"  state: {self.path} (new)"]
        backend = self.runtime.backend
        warnings = restore(backend, saved, self.path)
        self._restored = True
        self._saved_offset = backend.clock.offset
        return [
            f"  state: {self.path} ({len(backend.apps)} apps, {len(backend.creators)} creators, "
            f"{len(backend.publishes)} publishes restored)",
            *(f"  state warning: {w}" for w in warnings),
        ]

    def resume(self) -> None:
        """Restart what was running when the state was saved (once the media is back)."""
        if self._restored:
            resume_background_work(self.runtime)

    def changed(self) -> None:
        self._changes += 1

    def tick(self) -> None:
        """Called by the ticker: save if something changed and the window has passed."""
        if self._writing or time.monotonic() - self._last_save < self._window_s:
            return
        unchanged = (
            self._changes == self._saved_changes
            and not self.runtime.tasks  # webhook deliveries and pulls change the world too
            and self.runtime.backend.clock.offset == self._saved_offset
        )
        if unchanged:
            return
        try:
            saved, number = self._take()
        except Exception:  # a save that fails must not stop the ticker (or the emulator)
            logger.exception("emulator state: the snapshot failed")
            return
        self._writing = True

        def write() -> None:
            started = time.monotonic()
            try:
                text = json.dumps(saved, separators=(",", ":"))
                # Serialising holds the GIL too: it counts in the share a save may take.
                spent = self._snapshot_s + time.monotonic() - started
                self._window_s = max(self.interval_s, spent * SAVE_COST_SHARE)
                self._writer.write(text, number)
            except (OSError, TypeError, ValueError) as exc:
                _warn_once(f"emulator state: cannot save {self.path}: {exc}")
            finally:
                self._writing = False

        threading.Thread(target=write, name="emulator-state-save", daemon=True).start()

    def save_now(self) -> None:
        """A synchronous save (shutdown)."""
        saved, number = self._take()
        self._writer.write(json.dumps(saved, separators=(",", ":")), number)

    def _take(self) -> tuple[dict[str, Any], int]:
        """The snapshot (on the event loop: consistent); serialising it is left to the caller."""
        backend = self.runtime.backend
        started = time.monotonic()
        self._saved_changes = self._changes
        self._saved_offset = backend.clock.offset
        saved = snapshot(backend)
        self._last_save = time.monotonic()
        # A big world takes a while to snapshot and serialise, and the event loop serves little
        # meanwhile: the next save waits long enough that saving takes at most 1/SAVE_COST_SHARE
        # of the time (the window is set once the serialising is timed too).
        self._snapshot_s = self._last_save - started
        self._number += 1
        return saved, self._number


def resume_background_work(runtime: Runtime) -> None:
    """After a restore: what was running when the emulator stopped starts again.

    Downloads start over (their 1-hour window still counts from the first start); webhook
    deliveries not yet answered get a fresh retry schedule; an upload keeps only the bytes its
    saved state counts (anything received after the last save is cut off, so the client's next
    chunk is told, with a 416, where to resume) and its running SHA-256 is rebuilt from them.
    """
    backend = runtime.backend
    for publish in backend.publishes.values():
        if publish.is_final or publish.media_ready:
            continue
        if publish.source == "PULL_FROM_URL" and publish.status == "PROCESSING_DOWNLOAD":
            publish.downloaded_bytes = 0
            if publish.publish_id not in backend.pending_pulls:
                backend.pending_pulls.append(publish.publish_id)
        elif publish.source == "FILE_UPLOAD" and publish.media_paths:
            path = publish.media_paths[0]
            if path.exists():
                with path.open("r+b") as handle:
                    handle.truncate(publish.uploaded_bytes)
                digest = runtime.upload_digest(publish.publish_id)
                digest.start_chunk(0)
                digest.feed(path, publish.uploaded_bytes)
                digest.keep_chunk()
    # A delivery held in some queue (the outbox, a retry or reorder queue) is picked up from
    # there; one that was being sent when the emulator stopped is in none, and goes out again.
    queued = {
        id(item)
        for name, value in vars(backend).items()
        if name != "deliveries" and isinstance(value, list | deque)
        for item in value
    }
    for delivery in backend.deliveries:
        if not (delivery.delivered or delivery.gave_up) and id(delivery) not in queued:
            backend.outbox.append(delivery)


class CountChanges:
    """ASGI wrapper: tells the keeper a request was answered (the world may have changed)."""

    def __init__(self, app: ASGIApp, changed: Callable[[], None]) -> None:
        self.app = app
        self.changed = changed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.changed()
