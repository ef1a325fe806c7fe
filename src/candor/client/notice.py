"""The one-time notice the first run with telemetry on prints (stderr), and nothing else.

Loaded by that run alone (and by the README's cog block that shows the text).
"""

from __future__ import annotations

NOTICE_WIDTH = 79  # columns: fits the narrowest common terminal without wrapping mid-word


def notice_text(cli_name: str, prefix: str, policy_url: str) -> str:
    """The one-time notice, printed on stderr by the first run with telemetry on."""
    import textwrap  # the first run only

    from candor.schema import FIELD_NAMES

    paragraphs = (
        f"{cli_name} collects anonymous usage telemetry to learn what to improve. "
        f"Each command sends only: {', '.join(FIELD_NAMES)}. Never arguments, file paths or "
        "contents, environment variables, or who you are.",
        f"Policy: {policy_url}",
        f"To turn it off: `{cli_name} telemetry disable`, or {prefix}_TELEMETRY_OPT_OUT=1 for "
        "one command, or DO_NOT_TRACK=1.",
        "This notice is shown once; this run sent nothing.",
    )
    return "".join(
        textwrap.fill(text, NOTICE_WIDTH, break_long_words=False, break_on_hyphens=False) + "\n"
        for text in paragraphs
    )
