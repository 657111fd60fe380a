"""Who may call which model — one predicate shared by authorization and catalog listing, so
the list never shows a model the key cannot call nor hides one it can."""

from __future__ import annotations

from fnmatch import fnmatchcase

from patchbay.accounts.keystore import Principal
from patchbay.catalog.entries import ModelEntry
from patchbay.errors import ModelNotFound, PermissionDenied


def visible(principal: Principal | None, model: ModelEntry) -> bool:
    """Whether the model exists for this caller at all (private bots exist for their owner)."""
    if model.is_bot and not model.is_public:
        return principal is not None and principal.account_id == model.owner_account_id
    return True


def allowed(principal: Principal | None, model: ModelEntry) -> bool:
    """Whether the caller may list and call the model."""
    if principal is None:
        return model.is_public
    if not visible(principal, model):
        return False
    if model.is_bot and model.owner_account_id == principal.account_id:
        return True
    patterns = principal.allowed_models
    if patterns is None:
        return True
    return any(p == model.id or fnmatchcase(model.id, p) for p in patterns)


def authorize(principal: Principal, model: ModelEntry | None, requested: str) -> ModelEntry:
    if model is None or not visible(principal, model):
        raise ModelNotFound(f"The model '{requested}' does not exist", param="model")
    if not allowed(principal, model):
        raise PermissionDenied(
            f"This API key is not allowed to use the model '{requested}'", param="model"
        )
    return model
