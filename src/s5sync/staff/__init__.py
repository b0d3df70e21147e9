"""What the staff's and administrator's pages and the operator's commands call (R14,
R18–R21d): accounts and onboarding, the self-test, a store's administration and the
health of every user's sync, exports. No SQL in routes."""
