"""The public surface: every public name is exported from `directpost.tiktok`, sorted."""

from __future__ import annotations

import importlib
import pkgutil

import directpost.tiktok as tiktok


def _isort_style(name: str) -> tuple[int, str]:
    # The order ruff (RUF022) keeps: CONSTANTS, then Classes, then functions.
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_sorted_and_names_only_real_attributes() -> None:
    assert tiktok.__all__ == sorted(tiktok.__all__, key=_isort_style)
    assert len(set(tiktok.__all__)) == len(tiktok.__all__)
    for name in tiktok.__all__:
        assert hasattr(tiktok, name), name


def test_every_public_name_of_the_package_root_is_in_all() -> None:
    public = {
        name
        for name, value in vars(tiktok).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("directpost")
    }
    assert public <= set(tiktok.__all__), public - set(tiktok.__all__)


def test_every_error_class_is_exported() -> None:
    from directpost.tiktok import _errors

    errors = {
        name
        for name, value in vars(_errors).items()
        if isinstance(value, type) and issubclass(value, Exception) and not name.startswith("_")
    }
    assert errors <= set(tiktok.__all__), errors - set(tiktok.__all__)


def test_modules_other_than_the_root_are_private() -> None:
    names = [m.name for m in pkgutil.iter_modules(tiktok.__path__)]
    assert names and all(name.startswith("_") for name in names)
    for name in names:
        importlib.import_module(f"directpost.tiktok.{name}")


def test_only_the_http_module_imports_httpx2() -> None:
    from pathlib import Path

    root = Path(tiktok.__file__).parent
    importers = sorted(p.name for p in root.glob("*.py") if "import httpx2" in p.read_text())
    assert importers == ["_http.py"]


def test_the_package_ships_py_typed() -> None:
    from pathlib import Path

    assert (Path(tiktok.__file__).parent / "py.typed").exists()
