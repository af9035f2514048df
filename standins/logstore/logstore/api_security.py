"""Security endpoints: enough of `_security/*` for the setup steps docker-elk runs."""

from __future__ import annotations

from typing import Any

from .errors import ESError
from .http import Ctx
from .security import BUILTIN_USERS, hash_password


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


# -- security: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/security-api.html


async def authenticate(ctx: Ctx) -> dict[str, Any]:
    builtin = ctx.user.name in BUILTIN_USERS
    realm = (
        {"name": "reserved", "type": "reserved"}
        if builtin
        else {"name": "native1", "type": "native"}
    )
    return {
        "username": ctx.user.name,
        "roles": list(ctx.user.roles),
        "full_name": None,
        "email": None,
        "metadata": {"_reserved": True} if builtin else {},
        "enabled": True,
        "authentication_realm": realm,
        "lookup_realm": realm,
        "authentication_type": "realm",
    }


async def put_user(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage_security")
    name = ctx.request.path_params["name"]
    body = await ctx.json(required=True)
    if name in BUILTIN_USERS:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"user [{name}] is reserved and only the password can be changed "
            "(from its secrets file)",
        )
    users = state.store.state.section("users")
    record = dict(users.get(name, {}))
    if "password" in body:
        record["password_hash"] = hash_password(str(body["password"]))
    if "password_hash" not in record:
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: password must be specified unless you are updating an "
            "existing user;",
        )
    for key in ("roles", "full_name", "email", "metadata", "enabled"):
        if key in body:
            record[key] = body[key]
    state.store.state.put("users", name, record)
    state.security.invalidate()
    return {"created": name not in users or not users[name]}


async def user_password(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    name = ctx.request.path_params["name"]
    if name != ctx.user.name:
        state.security.require_cluster(ctx.user, "manage_security")
    body = await ctx.json(required=True)
    password = str(body.get("password", ""))
    if name in BUILTIN_USERS:
        if password != state.security.builtin[name]:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"the password of built-in user [{name}] comes from {name}_password in the "
                "secrets directory: edit that file and restart logstore",
            )
        return {}
    users = state.store.state.section("users")
    if name not in users:
        raise ESError(404, "resource_not_found_exception", f"user [{name}] not found")
    users[name]["password_hash"] = hash_password(password)
    state.store.state.save()
    state.security.invalidate()
    return {}


async def get_user(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage_security")
    wanted = ctx.request.path_params.get("name")
    out = {
        n: {
            "username": n,
            "roles": r,
            "full_name": None,
            "email": None,
            "metadata": {"_reserved": True},
            "enabled": True,
        }
        for n, r in BUILTIN_USERS.items()
    }
    for n, rec in state.store.state.section("users").items():
        out[n] = {
            "username": n,
            "roles": rec.get("roles", []),
            "full_name": rec.get("full_name"),
            "email": rec.get("email"),
            "metadata": rec.get("metadata", {}),
            "enabled": rec.get("enabled", True),
        }
    if wanted:
        out = {n: v for n, v in out.items() if n in wanted.split(",")}
    return (200 if out or not wanted else 404), out


async def put_role(ctx: Ctx) -> dict[str, Any]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage_security")
    name = ctx.request.path_params["name"]
    body = await ctx.json(required=True)
    existed = name in state.store.state.section("roles")
    state.store.state.put(
        "roles", name, {"cluster": body.get("cluster", []), "indices": body.get("indices", [])}
    )
    state.security.invalidate()
    return {"role": {"created": not existed}}


async def get_role(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    state = _state(ctx)
    state.security.require_cluster(ctx.user, "manage_security")
    from .security import BUILTIN_ROLES

    roles = {**BUILTIN_ROLES, **state.store.state.section("roles")}
    wanted = ctx.request.path_params.get("name")
    out = {
        n: {
            "cluster": r.get("cluster", []),
            "indices": r.get("indices", []),
            "applications": [],
            "run_as": [],
            "metadata": {},
            "transient_metadata": {"enabled": True},
        }
        for n, r in roles.items()
        if not wanted or n in wanted.split(",")
    }
    return (200 if out or not wanted else 404), out
