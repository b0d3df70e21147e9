"""`/me/mailboxSettings`: the mailbox's time zone (mailboxsettings.md)."""
