"""What the staff pages call (R14, R18–R21c): accounts and onboarding, the self-test,
a store's administration and the health of every user's sync. No SQL in routes."""
