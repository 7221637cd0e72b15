"""The dashboard's route table under ``/admin``: every page and action in one place, in match
order (``/models/remove/…`` before the ``{model_alias:path}`` routes that would swallow it, the
catch-all 404 last), all behind the security headers."""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route, Router, request_response
from starlette.staticfiles import StaticFiles

from .._settings import Settings
from . import (
    audit,
    billing,
    jobs,
    keys,
    login,
    model_aliases,
    operators,
    organizations,
    overview,
    teams,
    webhooks,
)
from ._context import Dashboard, not_found
from ._http import PREFIX, SecurityHeaders

__all__ = ["dashboard_routes"]

_STATIC = Path(__file__).resolve().parent / "static"


def dashboard_routes(settings: Settings) -> list[BaseRoute]:
    """The routes of the dashboard under ``/admin``."""
    dashboard = Dashboard(settings)
    page, action = dashboard.page, dashboard.action
    inner: list[BaseRoute] = [
        Route("/", page(overview.overview), methods=["GET"]),
        Route("/login", functools.partial(login.login_form, dashboard), methods=["GET"]),
        Route("/login", functools.partial(login.login, dashboard), methods=["POST"]),
        Route("/logout", action(login.logout, role="viewer"), methods=["POST"]),
        Route("/organizations", page(organizations.organizations), methods=["GET"]),
        Route(
            "/organizations",
            action(organizations.create_organization, role="admin"),
            methods=["POST"],
        ),
        Route(
            "/organizations/{organization_id}",
            page(organizations.organization),
            methods=["GET"],
        ),
        Route(
            "/organizations/{organization_id}/remove",
            action(
                organizations.remove_organization, role="admin", confirm="Remove this organization?"
            ),
            methods=["POST"],
        ),
        Route("/teams", page(teams.team_list), methods=["GET"]),
        Route("/teams", action(teams.create_team, role="admin"), methods=["POST"]),
        Route("/teams/{team_id}", page(teams.team), methods=["GET"]),
        Route(
            "/teams/{team_id}/settings", action(teams.update_team, role="admin"), methods=["POST"]
        ),
        Route(
            "/teams/{team_id}/remove",
            action(
                teams.remove_team, role="admin", confirm="Remove this team? Its keys stop working."
            ),
            methods=["POST"],
        ),
        Route(
            "/teams/{team_id}/credits", action(teams.add_credits, role="billing"), methods=["POST"]
        ),
        Route("/teams/{team_id}/limits", action(teams.set_limits, role="admin"), methods=["POST"]),
        Route(
            "/teams/{team_id}/billing",
            action(billing.update_billing, role="billing"),
            methods=["POST"],
        ),
        Route(
            "/teams/{team_id}/auto-refill",
            action(billing.set_auto_refill, role="billing"),
            methods=["POST"],
        ),
        Route(
            "/teams/{team_id}/auto-refill/remove",
            action(
                billing.remove_auto_refill,
                role="billing",
                confirm="Turn this team's auto-refill off?",
            ),
            methods=["POST"],
        ),
        Route(
            "/teams/{team_id}/adjust",
            action(billing.adjust_credits, role="billing"),
            methods=["POST"],
        ),
        Route(
            "/teams/{team_id}/transactions.csv",
            page(billing.transactions_csv, role="billing"),
            methods=["GET"],
        ),
        Route(
            "/teams/{team_id}/suspend",
            action(
                teams.suspend,
                role="admin",
                confirm="Suspend this team? Its keys are refused until it is resumed.",
            ),
            methods=["POST"],
        ),
        Route("/teams/{team_id}/resume", action(teams.resume, role="admin"), methods=["POST"]),
        Route("/teams/{team_id}/keys", action(keys.create_key, role="admin"), methods=["POST"]),
        Route(
            "/teams/{team_id}/keys/{key_id}/revoke",
            action(keys.revoke_key, role="admin", confirm="Revoke this key now?"),
            methods=["POST"],
        ),
        Route(
            "/teams/{team_id}/rotate",
            action(
                keys.rotate_keys,
                role="admin",
                confirm="Rotate the keys? One new key; the others stop after the grace.",
            ),
            methods=["POST"],
        ),
        Route("/teams/{team_id}/jobs/{job_id}", page(teams.job), methods=["GET"]),
        Route("/teams/{team_id}/jobs/{job_id}/calls/{call_id}", page(jobs.call), methods=["GET"]),
        Route("/jobs", page(jobs.job_list), methods=["GET"]),
        Route("/models", page(model_aliases.models), methods=["GET"]),
        Route("/models/groups", action(model_aliases.create_group, role="admin"), methods=["POST"]),
        Route(
            "/models/groups/{group_name}",
            action(model_aliases.update_group, role="admin"),
            methods=["POST"],
        ),
        Route(
            "/models/groups/{group_name}/remove",
            action(model_aliases.remove_group, role="admin", confirm="Remove this access group?"),
            methods=["POST"],
        ),
        Route(
            "/models/remove/{model_alias:path}",
            action(model_aliases.remove_alias, role="admin", confirm="Remove this model alias?"),
            methods=["POST"],
        ),
        Route(
            "/models/aliases", action(model_aliases.create_alias, role="admin"), methods=["POST"]
        ),
        Route("/models/aliases/{model_alias:path}", page(model_aliases.alias), methods=["GET"]),
        Route(
            "/models/aliases/{model_alias:path}",
            action(model_aliases.update_alias, role="admin"),
            methods=["POST"],
        ),
        Route("/audit", page(audit.audit_log), methods=["GET"]),
        Route("/usage", page(billing.usage), methods=["GET"]),
        Route("/usage.csv", page(billing.usage_csv, role="billing"), methods=["GET"]),
        Route("/webhooks", page(webhooks.webhook_list), methods=["GET"]),
        Route("/webhooks", action(webhooks.create_webhook, role="admin"), methods=["POST"]),
        Route("/webhooks/{webhook_id}", page(webhooks.webhook), methods=["GET"]),
        Route(
            "/webhooks/{webhook_id}/test",
            action(webhooks.send_test_event, role="admin"),
            methods=["POST"],
        ),
        Route(
            "/webhooks/{webhook_id}/remove",
            action(
                webhooks.remove_webhook,
                role="admin",
                confirm="Remove this webhook? Nothing more is sent to it.",
            ),
            methods=["POST"],
        ),
        Route(
            "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
            action(webhooks.retry_delivery, role="admin"),
            methods=["POST"],
        ),
        Route("/operators", page(operators.operator_list, role="owner"), methods=["GET"]),
        Route("/operators", action(operators.create_operator, role="owner"), methods=["POST"]),
        Route(
            "/operators/{operator_id}",
            action(operators.update_operator, role="owner"),
            methods=["POST"],
        ),
        Route(
            "/operators/{operator_id}/rotate",
            action(
                operators.rotate_operator_key,
                role="owner",
                confirm="Rotate this operator's key? The old one stops working, its sessions end.",
            ),
            methods=["POST"],
        ),
        Route(
            "/operators/{operator_id}/remove",
            action(
                operators.remove_operator,
                role="owner",
                confirm="Remove this operator? Its key stops working and its sessions end.",
            ),
            methods=["POST"],
        ),
        Mount("/static", StaticFiles(directory=_STATIC), name="dashboard-static"),
        Route("/{path:path}", page(not_found), methods=["GET"]),
    ]
    return [
        Route(
            PREFIX,
            SecurityHeaders(request_response(page(overview.overview))),
            methods=["GET"],
            include_in_schema=False,
        ),
        # one router, so the security headers wrap every route (and its 404s and 405s)
        Mount(PREFIX, app=SecurityHeaders(Router(routes=inner, redirect_slashes=False))),
    ]
