"""Staff-written markdown to safe HTML: Python-Markdown, then the nh3 sanitizer.

Whatever staff type, no script, event handler or javascript: link reaches a visitor, and no
element of theirs takes an id the page itself uses (live updates swap elements by id).
"""

from __future__ import annotations

from functools import lru_cache

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

# nl2br: a single line break typed by staff stays a line break, as Statuspage renders it.
_EXTENSIONS = ["extra", "sane_lists", "smarty", "nl2br"]

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p",
    "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "code": {"class"},
    "*": {"id"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
# Ids in staff text get this prefix, and links to them too so that footnotes still work;
# templates never use ids that start with it.
ID_PREFIX = "md-"


def _prefix_ids(element: str, attribute: str, value: str) -> str | None:
    # Prefixed even when it already starts with the prefix: "md-x" must not survive as a
    # promise that no template id could match.
    if attribute == "id":
        return ID_PREFIX + value
    if element == "a" and attribute == "href" and value.startswith("#"):
        return "#" + ID_PREFIX + value[1:]
    return value


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_prefix_ids,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


@lru_cache(maxsize=2048)
def render_markdown(text: str) -> SafeString:
    """Render staff-written markdown to HTML that is safe to put in any page or email.

    A pure function of the text, so each process keeps the latest renderings: a page lists
    the same updates render after render.
    """
    html = md.markdown(text or "", extensions=_EXTENSIONS, output_format="html")
    return mark_safe(sanitize_html(html))  # noqa: S308 - sanitized just above
