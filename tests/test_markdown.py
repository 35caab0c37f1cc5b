"""Staff markdown is rendered richly and sanitized: no script ever reaches a visitor."""

from pathlib import Path

import pytest

from statuspage.markdown import ID_PREFIX, render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p onclick="alert(1)">hi</p>',
    '<body onload="alert(1)">',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
    "</style></mglyph></table></mtext></math>",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="stylesheet" href="javascript:alert(1)">',
    "<style>body{background:red}</style>",
    "<scr<script>ipt>alert(1)</script>",
    '"><script>alert(1)</script>',
    '<details open ontoggle="alert(1)">',
    "```\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    '<img src="x" onerror\n="alert(1)">',
    '<a href="https://example.com" onmouseover="alert(1)">hover</a>',
]

_FORBIDDEN = ["<script", "onerror", "onload", "onclick", "onmouseover", "ontoggle",
              "javascript:", "vbscript:", "<iframe", "<object", "<embed", "<form", "<svg",
              "<meta", "<base", "<link", "<style", "style=", "data:text/html"]  # fmt: skip


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_it_neutralizes_xss_payloads(payload):
    html = render_markdown(payload).lower()
    for needle in _FORBIDDEN:
        assert needle not in html, f"{needle!r} survived in {html!r}"


def test_code_blocks_keep_the_text_escaped():
    html = render_markdown("```\n<script>alert(1)</script>\n```")
    assert "&lt;script&gt;" in html
    assert "<pre>" in html


def test_a_postmortem_keeps_its_structure():
    html = render_markdown(
        "## Timeline\n\n"
        "1. Deploy\n2. Rollback\n\n"
        "- a point\n\n"
        "See [the runbook](https://example.com/runbook).\n\n"
        "```\nSELECT 1;\n```\n\n"
        "| When | What |\n|---|---|\n| 04:44 | Alert |\n"
    )
    for tag in ["<h2", "<ol>", "<ul>", "<li>", '<a href="https://example.com/runbook"', "<pre>",
                "<code>", "<table>", "<th>", "<td>"]:  # fmt: skip
        assert tag in html, tag


def test_links_get_a_safe_rel():
    html = render_markdown("[x](https://example.com)")
    assert 'rel="noopener noreferrer nofollow"' in html


def test_an_id_in_staff_text_cannot_take_one_the_page_uses():
    html = render_markdown(
        '<h2 id="components">Components</h2>\n\n## Status {#live-updates}\n\n'
        '<div id="md-status-banner">x</div>'
    )
    assert 'id="components"' not in html
    assert 'id="live-updates"' not in html
    assert 'id="md-components"' in html
    assert 'id="md-live-updates"' in html
    assert 'id="md-md-status-banner"' in html


def test_footnotes_still_link_to_their_prefixed_ids():
    html = render_markdown("It failed.[^1]\n\n[^1]: A switch.")
    assert 'href="#md-fn:1"' in html
    assert 'id="md-fn:1"' in html
    assert 'href="#md-fnref:1"' in html
    assert 'id="md-fnref:1"' in html


def test_no_template_uses_an_id_staff_text_could_take():
    root = Path(__file__).resolve().parent.parent
    templates = [*root.glob("templates/**/*.html"), *root.glob("*/templates/**/*.html")]
    assert len(templates) > 20
    offenders = [str(t.relative_to(root)) for t in templates if f'id="{ID_PREFIX}' in t.read_text()]
    assert offenders == []


def test_a_single_line_break_stays_a_line_break():
    html = str(render_markdown("We are rolling back.\nNext update in 30 minutes."))
    assert html == "<p>We are rolling back.<br>\nNext update in 30 minutes.</p>"
    assert str(render_markdown("One paragraph.\n\nAnother.")).count("<p>") == 2
