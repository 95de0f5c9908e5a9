"""What ``directpost emulator``'s options build: the emulator with a seed file and a state
folder, or the recording proxy (``--record``), or the replaying server (``--replay``).

Every problem found before serving (a bad seed, an unreadable state file or recording) is a
``StartupError`` whose message is one line; the command prints it and exits with status 2.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from starlette.applications import Starlette

from .app import create_app
from .config import EmulatorConfig
from .persist import (
    CountChanges,
    StateFileError,
    StateKeeper,
    bring_media_back,
    keep_media_aside,
    read_state_file,
)
from .recording import RecordingError, recording_app
from .replay import replay_app
from .seed import SeedError, load_seed


class StartupError(ValueError):
    """The emulator cannot start with these options; ``str()`` says why in one line."""


@dataclasses.dataclass(frozen=True)
class Built:
    """What to serve: the app, the lines to print under the banner, and whether it is the
    emulator (False for the recording proxy and the replaying server)."""

    app: Starlette
    notes: list[str]
    emulating: bool


def build(
    config: EmulatorConfig,
    *,
    seed: Path | None = None,
    state_dir: Path | None = None,
    record: Path | None = None,
    upstream: str | None = None,
    replay: Path | None = None,
    tls: bool = False,
) -> Built:
    """The app for ``directpost emulator``'s options; StartupError for a combination that
    cannot work or a file that cannot be used."""
    if (record is None) != (upstream is None):
        raise StartupError("--record FILE and --upstream URL go together")
    if record is not None and replay is not None:
        raise StartupError("--record and --replay exclude each other")
    if record is not None or replay is not None:
        extras = [name for name, given in (("--seed", seed), ("--state-dir", state_dir)) if given]
        if tls:
            extras.append("--tls")
        if extras:
            mode = "--record" if record is not None else "--replay"
            raise StartupError(f"{' and '.join(extras)} do not apply with {mode}")
        if record is not None:
            assert upstream is not None
            return Built(*recorder_app(record, upstream), emulating=False)
        assert replay is not None
        return Built(*replayer_app(replay), emulating=False)
    return Built(*emulator_app(config, seed=seed, state_dir=state_dir), emulating=True)


def emulator_app(
    config: EmulatorConfig, *, seed: Path | None = None, state_dir: Path | None = None
) -> tuple[Starlette, list[str]]:
    """The emulator with its seed applied and its state restored; returns the app and the
    lines to print under the banner."""
    notes: list[str] = []
    loaded = None
    if seed is not None:
        try:
            loaded = load_seed(seed, config)
        except SeedError as exc:
            raise StartupError(str(exc)) from None
        config = loaded.startup_config(config)
        notes.append(
            f"  seed: {seed} ({len(loaded.apps)} apps, {len(loaded.creators)} creators; "
            "applied again on every reset)"
        )
    if state_dir is not None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            read_state_file(state_dir / "state.json")  # unreadable: say so before moving anything
        except OSError as exc:
            raise StartupError(f"--state-dir {state_dir}: {exc.strerror}") from None
        except StateFileError as exc:
            raise StartupError(str(exc)) from None
        if config.data_dir is None:  # the media is part of the state
            config = dataclasses.replace(config, data_dir=state_dir)
        assert config.data_dir is not None
        keep_media_aside(Path(config.data_dir))
    try:
        app = create_app(config)
    except BaseException:
        if state_dir is not None and config.data_dir is not None:
            bring_media_back(Path(config.data_dir))
        raise
    runtime = app.state.runtime
    if loaded is not None:
        seed_file = loaded

        def apply_seed() -> None:
            seed_file.apply(runtime.backend)

        apply_seed()
        runtime.after_reset.append(apply_seed)
    if state_dir is not None:
        keeper = StateKeeper(runtime, state_dir)
        try:
            notes.extend(keeper.load())
        except StateFileError as exc:
            raise StartupError(str(exc)) from None
        finally:
            bring_media_back(runtime.backend.data_dir)
        keeper.resume()
        runtime.on_tick.append(keeper.tick)
        runtime.on_close.append(keeper.save_now)
        app.add_middleware(CountChanges, changed=keeper.changed)
        app.state.state_keeper = keeper
    return app, notes


def recorder_app(record: Path, upstream: str) -> tuple[Starlette, list[str]]:
    """The recording proxy and the lines that describe it."""
    try:
        app = recording_app(record, upstream)
    except RecordingError as exc:
        raise StartupError(str(exc)) from None
    return app, [
        f"  recording every API request to {upstream} into {record}",
        "  (an init's upload_url is pointed here, so uploads are recorded too)",
    ]


def replayer_app(replay: Path) -> tuple[Starlette, list[str]]:
    """The replaying server and the lines that describe it."""
    try:
        app = replay_app(replay)
    except RecordingError as exc:
        raise StartupError(str(exc)) from None
    count = len(app.state.replayer.exchanges)
    return app, [f"  replaying {count} recorded exchanges from {replay} (no upstream)"]
