"""Outlook master categories: /me/outlook/masterCategories (issue 5 item 4)."""
