"""The operator's web dashboard under ``/admin``: server-rendered pages (Jinja2, autoescaped),
signed session cookies, CSRF-checked forms, SVG charts, no inline script and no CDN.

It is a client of the services, like the admin API: every figure and every change goes through
``services``; changes are recorded in the audit log as ``dashboard:<session>``. No page runs
SQL itself. Reads are ``GET``; every change is a ``POST`` of an HTML form carrying the
session's CSRF token, answered by a redirect back (or, for a new key, by a page that shows it
once).

Its modules, by job:

- ``routes``: the route table; ``_context``: how a page or a form's action becomes an
  endpoint (session, CSRF and Origin checks, confirmation, error page);
- the pages, one module per area: ``overview``, ``organizations``, ``teams`` (and a team's
  jobs), ``keys``, ``model_aliases`` (aliases, deployments, access groups), ``audit``,
  ``webhooks``, ``login`` (sign in and out);
- helpers: ``_http`` (security headers, Origin check, URLs), ``_forms`` (form parsing),
  ``_templates`` and ``_format`` (Jinja2 and its filters), ``charts`` (SVG bar charts),
  ``session`` (signed cookie, CSRF tokens) and ``_cookies`` (the cookie's flags).
"""

from ._http import SECURITY_HEADERS
from .routes import dashboard_routes

__all__ = ["SECURITY_HEADERS", "dashboard_routes"]
