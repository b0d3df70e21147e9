"""Graph change notifications (issue 19): `/subscriptions`, the validation handshake, and
notifications and lifecycle notifications delivered to the subscriber, laid out like the
other resources (`models`, `routes`, `errors`) plus `handshake`, `delivery` and `hub`."""
