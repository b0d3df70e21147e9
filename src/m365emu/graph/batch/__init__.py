"""JSON batching: POST /$batch (issue 5 item 5)."""
