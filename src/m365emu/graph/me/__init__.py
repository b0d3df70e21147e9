"""The signed-in user: GET /me."""
