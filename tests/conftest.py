"""Suite-wide pytest configuration: shared fixture modules live in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.media_files",
    "tests.fixtures.emulator",
    "tests.fixtures.live",
]
