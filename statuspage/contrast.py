"""Colour contrast as WCAG 2.2 measures it, for the colours staff pick for the page.

Text (body, secondary, links) must reach 4.5:1 against the background and the cards it sits on
(success criterion 1.4.3); the status colours, drawn as bars, borders and icons, 3:1
(criterion 1.4.11).
"""

from __future__ import annotations

TEXT_CONTRAST = 4.5
GRAPHIC_CONTRAST = 3.0

# The built-in light theme (static/css/statuspage.css): what a colour left empty stays.
DEFAULT_BACKGROUND = "#f5f6f8"
CARD_BACKGROUND = "#ffffff"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """The relative luminance of a #rrggbb colour (0 black, 1 white)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """From 1 (the same) to 21 (black on white), whichever colour is lighter."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrast_problems(
    *, background: str, text: dict[str, str], graphics: dict[str, str]
) -> dict[str, str]:
    """For each colour (by name) too close to the background or to the cards, why.

    `background` is the page's background (empty: the built-in one); `text` and `graphics` map
    names to colours, empty ones skipped.
    """
    grounds = [(background or DEFAULT_BACKGROUND, "the background"), (CARD_BACKGROUND, "the cards")]
    problems: dict[str, str] = {}
    for colours, minimum, what in (
        (text, TEXT_CONTRAST, "text"),
        (graphics, GRAPHIC_CONTRAST, "a status colour"),
    ):
        for name, colour in colours.items():
            if not colour:
                continue
            for ground, ground_name in grounds:
                ratio = contrast_ratio(colour, ground)
                if ratio < minimum:
                    problems[name] = (
                        f"{colour} against {ground_name} ({ground}) has a contrast of "
                        f"{ratio:.2f}:1; {what} needs at least {minimum:g}:1."
                    )
                    break
    return problems
