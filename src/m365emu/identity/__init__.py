"""The emulated Microsoft identity platform v2.0: directory (models), keys and claims,
authorization and token grants (platform), AADSTS errors, pages and routes."""
