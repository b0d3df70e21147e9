"""The process entry points (SPEC.md "Commands"): `bootstrap` (the composition root),
the `s5sync` CLI and its commands, the web app (routes, templates, static files), `serve`,
`worker`, `sync` and `demo`."""
