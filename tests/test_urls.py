"""OPS501/OPS504: host classification, env names, and both fixes together."""

from __future__ import annotations

import os
import textwrap
from typing import List
from urllib.parse import urlsplit

import pytest

from opslint.config import Settings
from opslint.engine import Linter
from opslint.fixes import fix_text
from opslint.model import Finding
from opslint.rules import _net, _urls

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _lint(text: str, codes: tuple = ("OPS501", "OPS504"), name: str = "client.py") -> List[Finding]:
    settings = Settings(select=codes, root=ROOT)
    return Linter(strict=True, cwd=ROOT).lint_text(text, os.path.join(ROOT, name), settings).findings


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("api.stripe.com", "external"),
        ("8.8.8.8", "external"),
        ("localhost", "local"),
        ("127.0.0.1", "local"),
        ("::1", "local"),
        ("0.0.0.0", "local"),
        ("10.1.2.3", "internal"),
        ("169.254.169.254", "internal"),
        ("redis", "internal"),
        ("orders.default.svc.cluster.local", "internal"),
        ("billing.payments.svc", "internal"),
        ("host.docker.internal", "internal"),
        ("printer.local", "internal"),
        ("app.test", "example"),
        ("api.example.com", "example"),
        ("example.org", "example"),
        ("your-domain.com", "placeholder"),
        ("api.localhost", "local"),
        ("100.100.100.100", "internal"),  # CGNAT 100.64.0.0/10 (Tailscale)
    ],
)
def test_host_kind(host: str, kind: str) -> None:
    assert _urls.host_kind(host) == kind


def test_allowed_hosts_wildcards() -> None:
    assert _urls.host_allowed("api.corp.com", ["*.corp.com"])
    assert not _urls.host_allowed("corp.com", ["*.corp.com"])
    assert _urls.host_allowed("corp.com", ["corp.com"])
    assert _urls.host_allowed("API.Stripe.com", ["api.stripe.com"])
    assert not _urls.host_allowed("evil-corp.com", ["*.corp.com"])


def test_env_var_names() -> None:
    assert _urls.env_var_name("STRIPE_API_BASE", "api.stripe.com", constant=True) == "STRIPE_API_BASE"
    assert _urls.env_var_name("BASE_URL", "api.stripe.com", constant=True) == "STRIPE_BASE_URL"
    assert _urls.env_var_name("base_url", "api.openai.com") == "OPENAI_BASE_URL"
    assert _urls.env_var_name(None, "api.stripe.com") == "API_STRIPE_COM_URL"
    assert _urls.env_var_name("url", "www.bbc.co.uk") == "BBC_URL"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://api.opsgenie.com/v2/alerts", "OPSGENIE_ALERTS_URL"),
        ("https://api.eu.opsgenie.com/v2/alerts", "OPSGENIE_EU_ALERTS_URL"),
        ("https://slack.com/api/oauth.v2.access", "SLACK_OAUTH_V2_ACCESS_URL"),
        ("https://slack.com/api/chat.postMessage", "SLACK_CHAT_POSTMESSAGE_URL"),
        ("https://pypi.org/pypi/mytool-cli/json", "PYPI_MYTOOL_CLI_JSON_URL"),
        ("https://hooks.slack.com/services/T024BE7LD/B01ABCDEF/XyZ123abc", "SLACK_HOOKS_SERVICES_URL"),
        ("https://api.twilio.com/2010-04-01/Accounts/{sid}/Calls.json", "TWILIO_ACCOUNTS_CALLS_URL"),
        ("https://status.ipapi.co/api/v2/status.json", "IPAPI_STATUS_URL"),
    ],
)
def test_env_names_come_from_host_and_path(url: str, name: str) -> None:
    parts = urlsplit(url)
    assert _urls.env_name_for_url(parts.hostname or "", parts.path) == name


def test_env_names_per_host_keep_api_apart() -> None:
    assert _urls.env_name_for_host("api.github.com") == "GITHUB_API_URL"
    assert _urls.env_name_for_host("github.com") == "GITHUB_URL"


def test_one_variable_per_distinct_url_across_a_project() -> None:
    """healthchecks' shape: each integration's transport holds its endpoint in a class
    attribute named ``URL``. A name that says only "the URL" is the same in every file,
    so the variable comes from host and path; a concatenation's prefix is named per host.
    Each variable of the project then reads one URL (before: ``TWILIO_URL`` for both
    Twilio endpoints, ``TRELLO_URL`` for two Trello hosts)."""
    files = {
        "call/transport.py": 'class Call:\n    URL = "https://api.twilio.com/2010-04-01/Accounts/%s/Calls.json"\n',
        "sms/transport.py": 'class Sms:\n    URL = "https://api.twilio.com/2010-04-01/Accounts/%s/Messages.json"\n',
        "whatsapp/transport.py": 'class WhatsApp:\n    URL = "https://api.twilio.com/2010-04-01/Accounts/%s/Messages.json"\n',
        "trello/transport.py": 'class Trello:\n    URL = "https://api.trello.com/1/cards"\n',
        "trello/views.py": (
            "from urllib.parse import urlencode\n\n"
            "def add(request):\n"
            '    return "https://trello.com/1/authorize?" + urlencode({"key": 1})\n'
        ),
        "pd/transport.py": 'API_URL = "https://events.pagerduty.com/v2/enqueue"\n',
        "pd/other.py": 'API_URL = "https://api.pagerduty.com/incidents"\n',
        "stripe.py": 'STRIPE_API = "https://api.stripe.com/v1"\nBASE_URL = "https://api.stripe.com/v1/"\n',
    }
    variables = {}
    for name, text in files.items():
        for finding in _lint(text, ("OPS501",), name=name):
            variable = finding.message.rsplit("`", 2)[-2]
            variables.setdefault(variable, set()).add((name, finding.message.split("`")[1]))
    assert {v: len(urls) for v, urls in variables.items()} == {
        "TWILIO_ACCOUNTS_CALLS_URL": 1,
        "TWILIO_ACCOUNTS_MESSAGES_URL": 2,  # one URL, held in two files
        "TRELLO_CARDS_URL": 1,
        "TRELLO_URL": 1,
        "PAGERDUTY_EVENTS_ENQUEUE_URL": 1,
        "PAGERDUTY_INCIDENTS_URL": 1,
        "STRIPE_API": 1,  # a name that says which URL is kept
        "STRIPE_BASE_URL": 1,  # a generic name with no path to name it from
    }
    messages = variables["TWILIO_ACCOUNTS_MESSAGES_URL"]
    assert len({url for _, url in messages}) == 1


def test_browser_and_plaintext_by_design() -> None:
    assert _urls.is_browser_url("www.gravatar.com", "/avatar/abc")
    assert _urls.is_browser_url("www.facebook.com", "/sharer/sharer.php")
    assert not _urls.is_browser_url("api.github.com", "/user")
    assert _urls.is_plaintext_by_design("connectivitycheck.gstatic.com", "/generate_204")
    assert _urls.is_plaintext_by_design("ocsp.digicert.com", "")
    assert _urls.is_plaintext_by_design("r10.c.lencr.org", "/0.crl")
    assert not _urls.is_plaintext_by_design("api.partner.com", "/v1/orders")


def test_lint_rule_fixtures_are_test_data() -> None:
    assert _net.lint_rule_fixture("repo/.semgrep/rules/requests.py", "import requests\n")
    assert _net.lint_rule_fixture("rules/http/urlopen.py", "def f(u):\n    # ruleid: urlopen-timeout\n    urlopen(u)\n")
    assert not _net.lint_rule_fixture("app/client.py", "# ok, retry below\nrequests.get(u)\n")


def test_identifiers_and_pages() -> None:
    assert _urls.is_identifier("www.w3.org", "/2005/Atom")
    assert _urls.is_identifier("www.googleapis.com", "/auth/drive")
    assert not _urls.is_identifier("www.googleapis.com", "/oauth2/v4/token")
    assert _urls.is_page("github.com", "/psf/requests/issues/1", "", False)
    assert not _urls.is_page("github.com", "/psf/requests/archive/main.zip", "", False)
    assert not _urls.is_page("api.github.com", "/repos/psf/requests", "", False)


def test_both_fixes_converge_on_one_literal() -> None:
    source = textwrap.dedent(
        '''\
        """Partner client."""
        import requests

        PARTNER_API = "http://api.partner-logistics.com/v1"


        def shipments():
            return requests.get(PARTNER_API + "/shipments", timeout=10).json()
        '''
    )
    findings = _lint(source)
    assert sorted(f.code for f in findings) == ["OPS501", "OPS504"]
    outcome = fix_text(source, _lint, unsafe=True)
    assert not outcome.failure
    assert "import os\n\nimport requests" in outcome.text  # a new standard-library section (isort)
    assert 'PARTNER_API = os.environ.get("PARTNER_API", "https://api.partner-logistics.com/v1")' in outcome.text
    assert outcome.remaining == []
    again = fix_text(outcome.text, _lint, unsafe=True)
    assert again.text == outcome.text


def test_several_literals_get_one_import() -> None:
    source = textwrap.dedent(
        """\
        import requests

        A = "https://api.stripe.com/v1"
        B = "https://hooks.slack.com/services/T0/B0/x"
        """
    )
    outcome = fix_text(source, _lint, unsafe=True)
    assert outcome.text.count("import os") == 1
    assert outcome.remaining == []


def test_test_files_are_skipped_by_default() -> None:
    source = 'import requests\nrequests.get("http://api.partner-logistics.com/v1", timeout=1)\n'
    assert _lint(source, name="tests/test_client.py") == []
    assert _lint(source, name="test_client.py") == []
    assert len(_lint(source, name="client.py")) == 2


def test_constant_used_as_lookup_default_is_quiet_for_ops501_only() -> None:
    source = textwrap.dedent(
        """\
        import os

        DEFAULT_URL = "http://api.partner-logistics.com/v1"
        URL = os.environ.get("PARTNER_URL", DEFAULT_URL)
        """
    )
    assert [f.code for f in _lint(source)] == ["OPS504"]
