"""The cycle shell (DESIGN.md "The shape"; R14–R17): lease → gather → decide → apply → record.

| module | holds |
|---|---|
| `ports` | the Protocols the cycle talks to (TaskStore, CalendarGateway, CycleStore…) |
| `engine` | `CycleEngine.run_user_cycle`: the one place the three sides meet |
| `apply` | applying one cycle's decisions in a crash-safe order (R16) |
| `window` | the Outlook window cache's bounds and its JSON form |
"""
