"""The web app: FastAPI routes, Jinja2 templates, htmx (R18–R22)."""
