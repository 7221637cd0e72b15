"""The operator's web dashboard under ``/admin``: server-rendered pages (Jinja2, autoescaped),
signed session cookies, CSRF-checked forms, SVG charts, no inline script and no CDN.

It is a client of the services, like the admin API: every figure and every change goes through
``services``; changes are recorded in the audit log as ``dashboard:<session>``.
"""

from .pages import SECURITY_HEADERS, dashboard_routes

__all__ = ["SECURITY_HEADERS", "dashboard_routes"]
