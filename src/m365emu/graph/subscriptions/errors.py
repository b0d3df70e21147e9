"""Graph-shaped errors of `/subscriptions` (issue 19), as `GraphError`s.

Codes and messages seen from real Graph (quoted in microsoft-graph-docs issues and
Microsoft's samples' issue trackers):
- too distant expiry: 400 `ExtensionError` "Subscription expiration can only be N
  minutes in the future." (microsoft-graph-docs#2988);
- validation: 400 `ValidationError` "Subscription validation request failed. Notification
  endpoint must respond with 200 OK to validation request." / "… Response must exactly
  match validationToken query parameter." and 400 `InvalidRequest` "Subscription
  validation request timed out." (nodejs-webhooks-sample#158, #350, java-spring#82);
- missing expiry: "expirationDateTime is a required property for subscription creation"
  (microsoft-graph-docs#4092).
Chosen where Microsoft's text is not known ([UNVERIFIED]): past expiry, plain-http URL,
unsupported resource, bad changeType or clientState, and 404 `ResourceNotFound` for an
unknown subscription id.
"""

from __future__ import annotations

from m365emu.graph.common.errors import GraphError


def invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def too_distant(max_minutes: int) -> GraphError:
    return GraphError(
        400,
        "ExtensionError",
        f"Subscription expiration can only be {max_minutes} minutes in the future.",
    )


def in_the_past() -> GraphError:
    return GraphError(400, "ExtensionError", "Subscription expiration must be in the future.")


def validation_failed() -> GraphError:
    return GraphError(
        400,
        "ValidationError",
        "Subscription validation request failed. Notification endpoint must respond with "
        "200 OK to validation request.",
    )


def validation_mismatch() -> GraphError:
    return GraphError(
        400,
        "ValidationError",
        "Subscription validation request failed. Response must exactly match "
        "validationToken query parameter.",
    )


def validation_timed_out() -> GraphError:
    return invalid("Subscription validation request timed out.")


def not_found() -> GraphError:
    return GraphError(404, "ResourceNotFound", "The object was not found.")


def other_mailbox() -> GraphError:
    # Delegated permissions cover only the signed-in user's mailbox (outlook-subscription-
    # notes.md).
    return GraphError(403, "ExtensionError", "Access is denied to the requested resource.")


def reauthorization_refused() -> GraphError:
    # The user's sessions were revoked after this token was issued (R19b).
    return GraphError(
        403,
        "ExtensionError",
        "Access is denied: the user's grant was revoked; sign the user in again.",
    )
