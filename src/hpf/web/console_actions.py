"""Staff console form actions (办理表单): the one shape of a console POST that acts on one object.

A route of this shape declares what differs in its signature — the permission
(``Depends(require(...))``), the form fields (CSRF is checked by the app before the route runs)
— and hands the rest to :func:`form_action`: the look-up of the object within the viewer's
scope, the use case, the page to go back to and the message on success. The action runs in a
savepoint, so a refusal half-way leaves nothing behind and comes back as a flash message on the
redirect.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hpf.errors import DomainError
from hpf.web.i18n import _ as N_
from hpf.web.portal_withdrawals import lang_of
from hpf.web.templating import flash

DONE = N_("Done.")


def form_action(
    request: Request,
    db: Session,
    back: str,
    run: Callable[[], object],
    *,
    find: Callable[[], object] | None = None,
    success: str = DONE,
) -> Response:
    """Run one console action and answer 303 to ``back`` with its outcome as a flash message.

    ``find``, when given, looks the object up within the viewer's scope and raises for one the
    viewer may not see (or that does not exist). It runs first and outside the refusal handling,
    so that error is answered by the app's error handlers (a problem or an error page), never as
    a flash. ``run`` then calls the use case inside a savepoint: a :class:`DomainError` rolls it
    back and is flashed as ``danger`` in the request's language; otherwise ``success`` (a
    message id, translated when shown) is flashed.
    """
    if find is not None:
        find()
    response = RedirectResponse(back, status_code=303)
    try:
        with db.begin_nested():
            run()
    except DomainError as exc:
        flash(response, exc.message(lang_of(request)), "danger")
        return response
    flash(response, success)
    return response
