"""The identity platform's HTML: the sign-in and consent page, the `form_post` answer,
and the error page shown when the redirect URI cannot be trusted.

The `form_post` page has the shape Entra sends (learn.microsoft.com "OAuth 2.0
authorization code flow", `response_mode=form_post`): a form named `hiddenform` posting
hidden inputs to the redirect URI, submitted by script, with a `<noscript>` button.
The sign-in page is the emulator's own (no password: pick or type a user of the tenant),
usable by keyboard and labelled for screen readers.
"""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

SCOPE_LABELS = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
    "User.Read": "Sign you in and read your profile",
    "Calendars.ReadWrite": "Have full access to your calendars",
    "Calendars.Read": "Read your calendars",
    "MailboxSettings.ReadWrite": "Read and write your mailbox settings",
    "MailboxSettings.Read": "Read your mailbox settings",
}

_STYLE = """
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0}
main{max-width:440px;margin:4rem auto;background:#fff;padding:2rem 2.75rem;
box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.5rem;font-weight:600;margin:.5rem 0 1rem}
.brand{font-size:.9rem;color:#5e5e5e}
fieldset{border:0;padding:0;margin:0 0 1rem}
legend{font-weight:600;margin-bottom:.5rem}
label{display:block;padding:.35rem 0}
input[type=email]{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}
.error{color:#a80000;border-left:3px solid #a80000;padding-left:.5rem}
.buttons{display:flex;gap:.5rem;justify-content:flex-end;margin-top:1.5rem}
button{padding:.5rem 1.5rem;font-size:1rem;border:1px solid #8a8886;background:#fff}
button.primary{background:#0067b8;color:#fff;border-color:#0067b8}
button:focus,input:focus{outline:2px solid #000;outline-offset:2px}
"""

_TEMPLATES = {
    "signin.html": """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{{ style }}</style></head>
<body><main>
<p class="brand">Microsoft 365 emulator (m365emu)</p>
<h1 id="title">Sign in to {{ app_name }}</h1>
{% if error %}<p class="error" role="alert" id="signin-error">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}" aria-labelledby="title">
{% for name, value in hidden %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}
<fieldset>
<legend>Pick an account{% if tenant_name %} of {{ tenant_name }}{% endif %}</legend>
{% for user in users %}
<label><input type="radio" name="login" value="{{ user.email }}"
{% if user.email == selected %}checked{% endif %}>
{{ user.display_name }} &lt;{{ user.email }}&gt;</label>
{% else %}<p>No users in this directory yet.</p>{% endfor %}
</fieldset>
<label for="typed-login">Or type an email address</label>
<input type="email" id="typed-login" name="typed_login" autocomplete="username"
value="{{ typed }}">
<fieldset>
<legend>{{ app_name }} asks for permission to</legend>
<ul>{% for scope, label in scopes %}<li>{{ label }} <small>({{ scope }})</small></li>
{% endfor %}</ul>
</fieldset>
<div class="buttons">
<button type="submit" name="consent" value="cancel">Cancel</button>
<button type="submit" name="consent" value="accept" class="primary">Accept</button>
</div>
</form></main></body></html>""",
    "form_post.html": """<html><head><title>Working...</title></head><body>
<form method="POST" name="hiddenform" action="{{ action }}">
{% for name, value in fields %}<input type="hidden" name="{{ name }}" value="{{ value }}" />
{% endfor %}<noscript><p>Script is disabled. Click Submit to continue.</p>
<input type="submit" value="Submit" /></noscript></form>
<script language="javascript">window.setTimeout(function(){document.forms[0].submit()}, 0);
</script></body></html>""",
    "error.html": """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<style>{{ style }}</style></head>
<body><main><p class="brand">Microsoft 365 emulator (m365emu)</p>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p class="error" role="alert">{{ message }}</p></main></body></html>""",
}

_env = Environment(loader=DictLoader(_TEMPLATES), autoescape=select_autoescape(default=True))


def sign_in_page(
    *,
    action: str,
    hidden: list[tuple[str, str]],
    app_name: str,
    tenant_name: str | None,
    users: list[tuple[str, str]],  # (email, display name)
    scopes: list[str],
    selected: str | None,
    error: str | None,
) -> str:
    listed = [{"email": email, "display_name": name} for email, name in users]
    known = {u["email"] for u in listed}
    return _env.get_template("signin.html").render(
        style=_STYLE,
        action=action,
        hidden=hidden,
        app_name=app_name,
        tenant_name=tenant_name,
        users=listed,
        selected=selected,
        typed=selected if selected and selected not in known else "",
        scopes=[(s, SCOPE_LABELS.get(s, s)) for s in scopes],
        error=error,
    )


def form_post_page(action: str, fields: list[tuple[str, str]]) -> str:
    return _env.get_template("form_post.html").render(action=action, fields=fields)


def error_page(message: str) -> str:
    return _env.get_template("error.html").render(style=_STYLE, message=message)
