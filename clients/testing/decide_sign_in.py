"""What the portal's approve (or deny) route does once the person confirmed a sign-in code ("expire": nobody did).

Arguments: the server's SQLite database, the action, the user code, the person's email.
"""

import datetime as dt
import sys

from licentia.core.usercodes import normalize_user_code
from licentia.server.store.engine import database_urls, make_sync_engine
from licentia.server.store.tables import device_authorizations as grants
from licentia.server.users import device_flow

action, code, email = sys.argv[2:5]
now = dt.datetime.now(dt.UTC)
engine = make_sync_engine(database_urls("sqlite:///" + sys.argv[1]))
with engine.begin() as conn:
    if action == "expire":
        conn.execute(grants.update().where(grants.c.user_code == normalize_user_code(code)).values(expires_at=now))
    else:
        getattr(device_flow, action)(conn, user_code=code, email=email, now=now)
engine.dispose()
