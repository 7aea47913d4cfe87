"""Permission classes: anonymous callers are UNAUTHENTICATED, others without the role FORBIDDEN."""

from typing import Any, ClassVar

from strawberry.permission import BasePermission
from strawberry.types import Info

from graph.errors import Forbidden, Unauthenticated
from graph.viewer import Role


class _RolePermission(BasePermission):
    roles: ClassVar[frozenset[Role]]

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        viewer = info.context.viewer
        if viewer.role in self.roles:
            return True
        if viewer.role is Role.ANONYMOUS:
            raise Unauthenticated("Sign in: send a bearer token.")
        raise Forbidden(f"This needs the {' or '.join(sorted(self.roles))} role.")


class IsEditor(_RolePermission):
    roles = frozenset({Role.EDITOR, Role.ADMIN})


class IsAdmin(_RolePermission):
    roles = frozenset({Role.ADMIN})


class IsEditorOrNull(BasePermission):
    """For fields a public query may select but only editors and admins may read: with
    `PermissionExtension(fail_silently=True)` anyone else gets null and no error."""

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return bool(info.context.viewer.role in IsEditor.roles)
