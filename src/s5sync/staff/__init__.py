"""What the staff's and administrator's pages and the operator's commands call."""
