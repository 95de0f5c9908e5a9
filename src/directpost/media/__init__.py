"""Media: probe and check files against TikTok's limits, store them, preview and serve them.

Submodules: `probe` (a leaf, shared with the emulator), `checks`, `storage`, `frames`, `serving`,
`urls`. This package root imports nothing, so importing `directpost.media.probe` stays light.
"""
