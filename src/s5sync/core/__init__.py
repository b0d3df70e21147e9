"""The pure core: snapshots, decisions, reasons and rules (SPEC.md R1–R13, R23).

Nothing here does I/O, reads a clock or draws randomness; tests/unit/test_architecture.py
walks the AST to keep it so. `now` and ids come in as arguments.

| module | holds |
|---|---|
| `snapshots` | frozen inputs: TaskSnapshot, EventSnapshot, Link, StoreOptions, TaskDraft |
| `rules` | `decide_cycle`: one user's whole cycle (R1–R13, R15, R17b) |
| `decisions` | the decisions, `Reason`, `describe()` sentences (R18) |
| `eligibility` | R1/R2 push and R8 import conditions, change detection |
| `adoption` | rebuilding lost or pending links from carried identities (R16b) |
| `payloads` | event fields from a task, task values from an event, R23 adaptations |
| `hashing` | owned-field content hashes (R5, R10, R17) |
| `tag` | literal, case-insensitive sync-tag match and removal (R8) |
| `mapslink` | the R4 address, maps URL and the strippable directions block (R12) |
| `html_text` | HTML bodies as normalised text (R9) |
| `timezones` | wall clock ↔ UTC, Windows ↔ IANA names, all-day spans (R12c) |
| `review` | R13's listing rule for Today's Tasks |
| `simulator` | a pure model that applies decisions, for properties and fakes (R16, R17) |
"""
