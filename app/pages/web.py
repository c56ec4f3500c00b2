"""What every page shares: templates, security headers, forms, labels, errors.

Pages are thin: templates over the services the API uses. A page answers HTML, also when
it fails (a service's :class:`~app.errors.DomainError` becomes an error page with the
same status); every page works without JavaScript.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import Request, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlmodel import Session

from app.config import get_settings
from app.db import read_session
from app.directory.service import CodeLists
from app.errors import DomainError
from app.pages.session import PageSession, csrf_token, set_cookie, set_csrf_cookie
from app.wording import i18n, problems
from app.wording.i18n import Lang
from app.wording.problems import Problem

HERE = Path(__file__).parent
STATIC = HERE / "static"

#: no inline script or style anywhere: the pages have none, so none may run
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
#: the largest body of a public form (a correction: text, suggestion and contact fit)
PUBLIC_FORM_LIMIT = 64 * 1024
FORM = "application/x-www-form-urlencoded"

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def highlighted(fragment: str) -> Markup:
    """A search highlight: everything escaped, then only ``<em>`` and ``</em>`` let back."""
    safe = str(escape(fragment))
    return Markup(safe.replace("&lt;em&gt;", "<em>").replace("&lt;/em&gt;", "</em>"))


def query(base: dict[str, Any], **changes: Any) -> str:
    """``?a=1&b=2`` from ``base`` with ``changes`` (None drops a parameter)."""
    merged = {**base, **changes}
    pairs = [(k, v) for k, v in merged.items() if v not in (None, "")]
    return "?" + urlencode(pairs) if pairs else ""


def time_limit(limit: dict[str, Any] | None, i: int) -> str:
    """``15个工作日（说明）`` / ``15 working day(s) (note)``."""
    if not limit:
        return ""
    unit = i18n.UNITS.get(limit.get("unit") or "", (limit.get("unit") or "",) * 2)[i]
    note = f"（{limit['note']}）" if limit.get("note") else ""
    return f"{limit.get('value')}{unit}{note}"


env.filters["highlighted"] = highlighted
env.globals["time_limit"] = time_limit
env.globals["query"] = query
env.globals["params_of"] = lambda request: dict(request.query_params)
env.globals["day"] = i18n.format_day
env.globals["problem_of"] = Problem.whole
env.globals["problems_in"] = lambda exc: [Problem.entry(e) for e in exc.errors or ()]


class Labels:
    """Code-list labels, read at most every five minutes per process (reference data)."""

    TTL = 300.0

    def __init__(self) -> None:
        self._lists: CodeLists | None = None
        self._read = 0.0
        self._lock = threading.Lock()

    def of(self, session: Session) -> CodeLists:
        now = time.monotonic()
        if self._lists is None or now - self._read > self.TTL:
            with self._lock:
                if self._lists is None or now - self._read > self.TTL:
                    self._lists = CodeLists(session)
                    self._read = now
        return self._lists


LABELS = Labels()


def page_lang(request: Request) -> Lang:
    return i18n.negotiate(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )


SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # ticket pages hold the ticket
    "X-Frame-Options": "DENY",
    # a page carries the visitor's CSRF token: never one visitor's copy for another
    "Cache-Control": "private, no-cache",
}


_PAGE_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
#: a signed-in page is the key holder's alone: kept nowhere
_SIGNED_IN_HEADERS = [(k, b"no-store" if k == b"cache-control" else v) for k, v in _PAGE_HEADERS]


#: where a cached page takes the request's CSRF token (ASCII: OpenCC leaves it alone)
CSRF_MARK = "__csrf_token_of_the_request__"


def render_html(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: PageSession | None = None,
    convertible: bool = True,
    csrf: str = CSRF_MARK,
) -> str:
    """The page's HTML; a zh-Hant one converted by OpenCC (editor pages never: their forms
    post the catalogue's text back)."""
    lang = page_lang(request)
    if not convertible and lang == Lang.HANT:
        lang = Lang.HANS
    names = problems.StoredNames(lambda: reading(request))
    # problems are said in zh-Hans on a zh-Hant page: the page is converted as a whole
    with problems.speaking(Lang.HANS if lang == Lang.HANT else lang, names):
        html = _render(request, template, context, lang, session, csrf)
    return i18n.to_traditional(html) if lang == Lang.HANT else html


def _render(
    request: Request,
    template: str,
    context: dict[str, Any],
    lang: Lang,
    session: PageSession | None,
    csrf: str,
) -> str:
    return env.get_template(template).render(
        request=request,
        path=request.url.path,
        lang=lang,
        content_lang="zh-Hant" if lang == Lang.HANT else "zh-Hans",
        t=i18n.translator(lang),
        tm=i18n.marked(lang),
        i=i18n.pick(lang),
        events=i18n.EVENTS,
        request_status=i18n.REQUEST_STATUS,
        units=i18n.UNITS,
        csrf=csrf,
        signed_in=session,
        **context,
    )


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    """A read session as the ``read_session`` dependency (or the app's override) gives."""
    factory = request.app.dependency_overrides.get(read_session, read_session)
    with contextmanager(factory)() as session:
        yield session


def respond(
    request: Request,
    html: str | tuple[bytes, ...],
    *,
    status: int = 200,
    session: PageSession | None = None,
) -> Response:
    """The response of a page rendered with :data:`CSRF_MARK` (as text, or as the bytes
    around the marks, see :meth:`RenderedPages.put`): the request's token put in, the
    security headers, the cookies."""
    token, new_cookie = csrf_token(request, session)
    if isinstance(html, str):
        body = html.replace(CSRF_MARK, token).encode()
    else:
        body = token.encode().join(html)
    response = Response(body, status_code=status, media_type="text/html")
    # the headers as bytes once, not a dict to encode per page (a kept page's cost)
    response.raw_headers += _SIGNED_IN_HEADERS if session is not None else _PAGE_HEADERS
    if new_cookie:
        set_csrf_cookie(response, request, token)
    if request.query_params.get("lang") in Lang._value2member_map_:
        set_cookie(
            response, request, i18n.COOKIE, request.query_params["lang"], max_age=365 * 86400
        )
    return response


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    session: PageSession | None = None,
    convertible: bool = True,
) -> Response:
    html = render_html(request, template, context, session=session, convertible=convertible)
    return respond(request, html, status=status, session=session)


class RenderedPages:
    """Rendered public pages by (what they show, language), a bounded LRU. The key holds
    the item's version, so a change is never served stale; labels are reread every five
    minutes, so entries live no longer than that."""

    def __init__(self, size: int = 512, ttl: float = Labels.TTL) -> None:
        self.size, self.ttl = size, ttl
        self._pages: dict[tuple[Any, ...], tuple[float, tuple[bytes, ...]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, ...] | None:
        found = self._pages.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def put(self, key: tuple[Any, ...], html: str) -> tuple[bytes, ...]:
        """Keep the page as the bytes around its CSRF marks (answered by joining them with
        the request's token)."""
        parts = tuple(p.encode() for p in html.split(CSRF_MARK))
        with self._lock:
            self._pages.pop(key, None)
            self._pages[key] = (time.monotonic(), parts)
            while len(self._pages) > self.size:
                self._pages.pop(next(iter(self._pages)))
        return parts


class PageProblem(DomainError):
    """A refusal of the page layer itself (a form too large, not a form)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


async def read_form(request: Request, limit: int) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body of at most ``limit`` bytes (413 at
    once from ``Content-Length``, else counted as it arrives; 415 for another type). The
    edge leaves pages to themselves: this is their body limit."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM:
        raise PageProblem(415, "this form is sent as application/x-www-form-urlencoded")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise PageProblem(413, f"a form here holds at most {limit:,} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PageProblem(413, f"a form here holds at most {limit:,} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PageProblem(400, "the form is not UTF-8") from None
    return parse_qs(text, keep_blank_values=True, max_num_fields=5000)


async def public_form(request: Request) -> dict[str, list[str]]:
    return await read_form(request, PUBLIC_FORM_LIMIT)


async def editor_form(request: Request) -> dict[str, list[str]]:
    """An editor's form carries a whole item at most: the API's single-write limit."""
    return await read_form(request, get_settings().body_limit)


def first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    return (form.get(name) or [default])[0]


def optional(form: dict[str, list[str]], name: str) -> str | None:
    value = first(form, name).strip()
    return value or None


# --- errors next to the fields -----------------------------------------------------------

_PREFIXES = ("body", "patch", "query", "answers")


def field_key(loc: list[Any]) -> str:
    """An error's place as the form names its field: ``["body", "patch", "materials", 0,
    "originals"]`` → ``materials.0.originals``."""
    parts = list(loc)
    while parts and parts[0] in _PREFIXES:
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


def errors_by_field(errors: list[dict[str, Any]] | None) -> dict[str, list[Problem]]:
    """The errors by the form field they belong to, each a :class:`Problem` that says
    itself in the page's language (``loc``, ``msg``, ``type`` and pydantic's ``ctx``)."""
    found: dict[str, list[Problem]] = {}
    for e in errors or ():
        found.setdefault(field_key(e.get("loc", [])), []).append(Problem.entry(e))
    return found


def domain_errors(exc: DomainError) -> dict[str, list[Problem]]:
    """A refusal's errors by field; one without any is itself the problem, at no field."""
    if exc.errors:
        return errors_by_field(exc.errors)
    return {"": [Problem.whole(exc)]}


class PageRoute(APIRoute):
    """A page: a refusal of a service (404, 403, 422…) is an HTML page with its status."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                if getattr(exc, "sign_in", False):
                    return render(
                        request,
                        "editor/login.html",
                        {"failed": False},
                        status=401,
                        convertible=False,
                    )
                response = render(
                    request,
                    "error.html",
                    {
                        "status": exc.status,
                        "problem": Problem.whole(exc),
                        "errors": [Problem.entry(e) for e in exc.errors or ()],
                    },
                    status=exc.status,
                )
                if isinstance(exc.extra.get("retry_after"), int):
                    response.headers["Retry-After"] = str(exc.extra["retry_after"])
                return response

        return page
