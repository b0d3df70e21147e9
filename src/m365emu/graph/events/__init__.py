"""Events: /me/events, /me/calendarView and /me/calendarView/delta (issue 5 items 2–3)."""
