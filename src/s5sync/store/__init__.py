"""The CALENDAREVENT database: models, repositories built for one tenant, migrations."""
