"""Alerts by e-mail (R21d): the rules are pure (`s5sync.core.alerts`), the words in
`messages`, sending in `smtp`, and `service.Alerts` runs both on the scheduler."""
