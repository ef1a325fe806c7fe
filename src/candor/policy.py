"""The telemetry policy, in Markdown, generated from `candor.schema` so it cannot drift.

    from candor.policy import render_policy
    print(render_policy(cli="your-cli", platform="your-platform"))

The table of what is collected comes from `FIELDS`, the list of what is not from
`NOT_COLLECTED`, the CI detection from `CI_VARIABLES`, the default endpoint from `EVENT_PATH`:
a field added to the schema appears here, and a test compares the table with the keys of a
real event. The prose follows the published policy (structure and wording), corrected where
Candor does something more precise: events are queued and sent in batches by a background
process, the run that shows the notice sends nothing, DO_NOT_TRACK is honoured too.

Standard library only, and nothing from candor but the schema (import-linter checks it).
"""

from __future__ import annotations

import json
import re

from candor.schema import (
    CI_VARIABLES,
    EVENT_PATH,
    FIELDS,
    NOT_COLLECTED,
    RESERVED_ERROR_CODES,
)

DEFAULT_SOURCE_MODULE = "candor.client"
TABLE_HEADER = ("Data Point", "Description", "Example")
# A platform name becomes a directory (~/.{platform}) and a variable prefix: keep it plain.
PLATFORM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A link Markdown renders as it is: no spaces, no angle brackets, no other scheme.
PUBLIC_REPORT_PATTERN = re.compile(r"https?://[^\s<>]+")


def env_prefix(platform: str) -> str:
    """The variables' prefix for a platform name ("your-platform" gives "YOUR_PLATFORM").

    The same rule as `candor.client.consent.env_prefix`, repeated because the policy may not
    import the client; a test checks that they agree.
    """
    return "".join(char if char.isalnum() else "_" for char in platform.upper())


def default_endpoint(platform: str) -> str:
    """Where a platform's CLI sends events unless configured otherwise."""
    return f"https://telemetry.{platform}.com{EVENT_PATH}"


def published_paragraph(url: str) -> str:
    """The paragraph linking the public report written by `candor publish`."""
    return (
        "What we learn is published: the aggregated figures (the most used commands, their "
        "durations, the most common errors, platforms and versions, weekly active "
        f"installations) are public at <{url}>. No figure there rests on fewer installations "
        "than the minimum the report states, and nothing there is about a single installation."
    )


def table_cell(text: str) -> str:
    """`text` made safe for one cell of a Markdown table (pipes escaped, one line)."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def table_row(cells: tuple[str, ...] | list[str]) -> str:
    """One Markdown table row."""
    return "| " + " | ".join(table_cell(cell) for cell in cells) + " |"


def _code(text: str) -> str:
    """`text` as inline code (a double fence when it holds a backtick itself)."""
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


def collected_table(cli: str) -> list[str]:
    """The table of the event's fields: name, description (with the CLI's name), example."""
    lines = [table_row(list(TABLE_HEADER)), table_row(["---"] * len(TABLE_HEADER))]
    for field in FIELDS:
        description = field.description.replace("{cli}", cli)
        example = json.dumps(field.example, ensure_ascii=False)
        lines.append(table_row([_code(field.name), description, _code(example)]))
    return lines


def not_collected_list() -> list[str]:
    """What is never collected, one bullet per item."""
    lines = []
    for heading, detail in NOT_COLLECTED:
        lines.append(f"- **{heading}:** {detail}" if detail else f"- **{heading}.**")
    return lines


def render_policy(
    cli: str = "your-cli",
    platform: str = "your-platform",
    endpoint: str | None = None,
    source_module: str | None = None,
    public_report: str | None = None,
) -> str:
    """The Markdown policy for the CLI `cli` of `platform`, ending with one newline.

    `endpoint` defaults to https://telemetry.{platform}.com/v1/event; `source_module` names the
    code a reader can inspect (default: Candor's client, `candor.client`); `public_report`, the
    address of the report `candor publish` wrote, adds a paragraph linking it. Raises ValueError
    for a value that would make the document wrong (an endpoint that is not https://, a
    platform name that cannot be a directory).
    """
    if not PLATFORM_PATTERN.fullmatch(platform):
        raise ValueError(f"platform must be a name like 'your-platform', not {platform!r}")
    if not cli.strip() or any(char.isspace() or char == "`" for char in cli):
        raise ValueError(f"cli must be a command name like 'your-cli', not {cli!r}")
    endpoint = endpoint or default_endpoint(platform)
    if not endpoint.startswith("https://") or any(char.isspace() for char in endpoint):
        # The policy promises HTTPS; a document that says otherwise must not be generated.
        raise ValueError(f"the endpoint must be an https:// URL, not {endpoint!r}")
    if public_report is not None and not PUBLIC_REPORT_PATTERN.fullmatch(public_report):
        raise ValueError(f"the public report must be an http(s):// URL, not {public_report!r}")
    prefix = env_prefix(platform)
    source = source_module or DEFAULT_SOURCE_MODULE
    config = f"~/.{platform}/config.json"
    opt_out = f"{prefix}_TELEMETRY_OPT_OUT"
    debug = f"{prefix}_TELEMETRY_DEBUG"
    ci = ", ".join(_code(name) for name in CI_VARIABLES)
    reserved = ", ".join(_code(code) for code in RESERVED_ERROR_CODES)
    parts = [
        "# CLI Telemetry Policy",
        "We believe in building our platform in the open, and that transparency is key to "
        "earning and keeping the trust of our community. This document outlines the telemetry "
        f"we collect from our Command Line Interface (CLI), {_code(cli)}, why we collect it, "
        "and how you can control it.",
        "## Our Guiding Principles",
        "**Transparency & Verifiability:** Our telemetry collection is part of our open-source "
        "code. You can review the implementation to verify our claims. This document will "
        "always be an accurate representation of what we collect: it is generated from the "
        "same schema the CLI checks every event against before it is sent.",
        "**User-Centric Improvement:** We only collect data that helps us make the CLI better "
        'for you. The data answers questions like: "Which features are most used?", "Where '
        'are the performance bottlenecks?", and "What are the most common errors?".',
        "**Anonymity by Default:** We do not collect any Personally Identifiable Information "
        "(PII). The data is aggregated to understand trends and is not used to track "
        "individual users. You are not required to be logged in to our platform to use the "
        "CLI, and the telemetry system reflects that.",
        "## What We Collect",
        "For each command execution, we may collect the following anonymous information, and "
        "nothing else: an event with any other field is never sent.",
        "\n".join(collected_table(cli)),
        "The command is only ever a name from the CLI's own command tree (for example "
        f"{_code('db migrate')}); a command line rejected before any command was recognised is "
        "recorded under the name of the CLI itself. Besides the codes the CLI declares for its "
        f"own errors, the error code can be one of {reserved}. A command counts as "
        "non-interactive when its input or output is not a terminal, or when one of these "
        f"variables is set (to anything but an empty value): {ci}.",
        "## What We DO NOT Collect",
        "We are committed to user privacy and never collect:",
        "\n".join(not_collected_list()),
        "## The Anonymous `installation_id`",
        "When you run the CLI for the first time, it generates a standard Version 4 UUID and "
        f"saves it to a local configuration file at {_code(config)}. This ID is completely "
        "random and contains no information about you or your machine. It allows us to "
        "distinguish between an error affecting 100 different users and an error affecting a "
        "single user 100 times, which is critical for prioritization.",
        "## How to Control Telemetry",
        "We believe in giving you full control.",
        "### First-Run Notice",
        "The very first time you run a command, we will display a one-time notice (on standard "
        "error, so it never mixes with the command's output) informing you that we collect "
        "telemetry and how to disable it. The command will execute successfully without "
        "requiring any input from you. That first run sends nothing: events are recorded "
        "from the next run on. If you have opted out by one of the variables below, the notice "
        "is not shown either.",
        "### Disabling Telemetry",
        "You can opt out of telemetry at any time in two ways:",
        "**Via the CLI:**",
        f"```sh\n# Disable telemetry collection\n{cli} telemetry disable\n```",
        "This is saved in the configuration file and also deletes any events not yet sent; "
        "nothing is sent about the change itself. You can re-enable it at any time with "
        f"{_code(f'{cli} telemetry enable')}.",
        "**Via an Environment Variable:**",
        "For non-interactive environments like CI/CD, you can set an environment variable to "
        "disable telemetry for a single command execution:",
        f"```sh\n{opt_out}=1 {cli} deploy\n```",
        f"{_code(opt_out)} set to any value but empty, {_code('0')}, {_code('false')} or "
        f"{_code('no')} (in any case) turns telemetry off: {_code('1')}, {_code('yes')} and "
        f"{_code('on')} all do. The cross-tool {_code('DO_NOT_TRACK=1')} convention is "
        f"honoured too (any value but empty, {_code('0')} or {_code('false')}). "
        f"{_code(f'{cli} telemetry status')} names the variable and the value that turned "
        "telemetry off. With either set, a command records "
        "nothing: the CLI opens no network connection, starts no process, and creates or "
        "writes no telemetry file, whatever the configuration file says.",
        "### Seeing What Is Sent",
        f"{_code(f'{cli} telemetry status')} shows whether telemetry is on and what decided "
        "it, the installation ID, the endpoint, how many events are waiting to be sent, and "
        f"every file telemetry uses ({_code(f'{cli} telemetry status --json')} for scripts). "
        "To see the exact event a command would send, without sending or saving anything:",
        f"```sh\n{debug}=1 {cli} deploy\n```",
        f"{_code(f'{cli} telemetry show')} lists the events this machine has sent, exactly as "
        "they were sent and with the time the endpoint acknowledged each, and those still "
        "waiting to be sent. The list of sent events stays on your machine, beside the "
        "configuration file: the last 100 events, none older than 30 days, deleted by "
        f"{_code(f'{cli} telemetry disable')} and never written while telemetry is off.",
        "## Where the Data Goes",
        f"Telemetry data is sent via HTTPS to a public endpoint ({endpoint}) where it is "
        "processed and stored in our secure analytics database. This data helps our "
        "engineering team understand usage patterns and improve the product.",
        *([published_paragraph(public_report)] if public_report else []),
        "The CLI never waits for the network: each event is added to a small queue in the "
        "same directory as the configuration file, and a short-lived background process "
        "sends the queue in batches. If the endpoint cannot be reached, events stay queued "
        "(at most a bounded number; the oldest are dropped first) and are retried later. "
        "The certificate of the endpoint is always verified.",
        f"We welcome you to inspect the source code for our telemetry collection in the "
        f"{_code(source)} module.",
    ]
    return "\n\n".join(parts) + "\n"
