"""The local engine's read-only web console at ``/-/console/``: jobs, their files, and the buckets.

Server-rendered HTML from the standard library (no script, no CDN), behind a sign-in with one of the
engine's access keys. ``routes.Console`` is what the engine hands console requests to.
"""
