"""``/ui``: the web console's routes (pages in ``patchbay.console``) and its static files."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from patchbay.console import admin_pages as admin
from patchbay.console import auth
from patchbay.console import user_pages as user
from patchbay.console.web import action, page

GET, POST = ["GET"], ["POST"]


def routes() -> list[BaseRoute]:
    static = StaticFiles(packages=[("patchbay.console", "static")])
    return [
        Mount(
            "/ui",
            routes=[
                Route("/", page(user.overview), methods=GET),
                Route("/login", auth.login_form, methods=GET),
                Route("/login", auth.login, methods=POST),
                Route("/logout", auth.logout, methods=POST),
                Route("/redeem", action(user.redeem, user.overview), methods=POST),
                Route("/usage", page(user.usage), methods=GET),
                Route("/keys", page(user.keys_page), methods=GET),
                Route("/keys", action(user.create_key, user.keys_page), methods=POST),
                Route(
                    "/keys/{key_id:int}/revoke",
                    action(user.revoke_key, user.keys_page),
                    methods=POST,
                ),
                Route("/bots", page(user.bots_page), methods=GET),
                Route("/bots", action(user.create_bot, user.bots_page), methods=POST),
                Route("/bots/{handle}", page(user.bots_page), methods=GET),
                Route("/bots/{handle}", action(user.update_bot, user.bots_page), methods=POST),
                Route(
                    "/bots/{handle}/delete", action(user.delete_bot, user.bots_page), methods=POST
                ),
                Route("/models", page(user.models_page), methods=GET),
                Route("/admin/accounts", page(admin.accounts_page, admin=True), methods=GET),
                Route(
                    "/admin/accounts",
                    action(admin.create_account, admin.accounts_page, admin=True),
                    methods=POST,
                ),
                Route(
                    "/admin/accounts/{account_id:int}/credit",
                    action(admin.credit, admin.accounts_page, admin=True),
                    methods=POST,
                ),
                Route("/admin/catalog", page(admin.catalog_page, admin=True), methods=GET),
                Route("/admin/usage", page(admin.usage_page, admin=True), methods=GET),
                Route("/admin/codes", page(admin.codes_page, admin=True), methods=GET),
                Route(
                    "/admin/codes",
                    action(admin.create_codes, admin.codes_page, admin=True),
                    methods=POST,
                ),
                Mount("/static", app=static, name="console-static"),
            ],
        )
    ]
