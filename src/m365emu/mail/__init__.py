"""The emulator's mail: an SMTP server (aiosmtpd) that delivers into the emulated
mailboxes, and the Inbox of the Outlook page (issue 21: the administrator reads an
alert where they would in real life)."""
