"""`candor policy --public-report URL`: the policy links the published report, and only then."""

from __future__ import annotations

import pytest

from candor.policy import render_policy
from tests.cli.conftest import run_candor

URL = "https://stats.example.org/your-cli/"


def test_the_policy_links_the_public_report() -> None:
    """With the option, one paragraph names the URL; the rest of the policy is unchanged."""
    plain, linked = render_policy(), render_policy(public_report=URL)
    assert f"<{URL}>" in linked and "public at" not in plain
    added = [p for p in linked.split("\n\n") if p not in plain.split("\n\n")]
    assert len(added) == 1 and URL in added[0]
    assert linked.replace(added[0] + "\n\n", "") == plain


def test_candor_policy_prints_the_link() -> None:
    """The console script passes --public-report through."""
    result = run_candor("policy", "--public-report", URL)
    assert result.returncode == 0
    assert result.stdout == render_policy(public_report=URL)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://a b", "stats.example.org", ""])
def test_a_link_that_is_not_a_web_address_is_refused(url: str) -> None:
    """Anything but an http(s) URL without spaces: exit 2 and one line, no policy printed."""
    result = run_candor("policy", "--public-report", url)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("candor policy: the public report must be an http(s):// URL")
    assert len(result.stderr.splitlines()) == 1
