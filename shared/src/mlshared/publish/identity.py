"""Who owns this copy of the portfolio, and the links that name them.

The site configuration (`mkdocs.yml`: `site_author`, `repo_url`) is the one place that says so;
`portfolio init` rewrites it together with every file that repeats it, and badges, site links and
scaffolded projects read it from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlshared.console import UserError

SITE_CONFIG = "mkdocs.yml"
REPO_URL = re.compile(r"^https://github\.com/(?P<github>[^/\s]+)/(?P<repo>[^/\s]+?)/?$")
GITHUB_USER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class Owner:
    name: str  # the person, as the README title, LICENSE and package authors show them
    github: str  # GitHub user or organisation
    repo: str  # repository name on GitHub

    @property
    def repo_url(self) -> str:
        return f"https://github.com/{self.github}/{self.repo}"

    @property
    def site_url(self) -> str:
        """Where GitHub Pages publishes a project site."""
        return f"https://{self.github.lower()}.github.io/{self.repo}/"

    @property
    def title(self) -> str:
        return f"ML portfolio of {self.name}"

    def workflow_url(self, workflow: str) -> str:
        return f"{self.repo_url}/actions/workflows/{workflow}"

    def badge(self, workflow: str, label: str) -> str:
        """A Markdown status badge for `.github/workflows/<workflow>` linking to its runs."""
        url = self.workflow_url(workflow)
        return f"[![{label}]({url}/badge.svg)]({url})"


def validate(github: str, repo: str) -> None:
    if not GITHUB_USER.match(github):
        raise UserError(
            f"{github!r} is not a GitHub user name.",
            hint="Use letters, digits and single hyphens (at most 39 characters), as in github.com/<user>.",
        )
    if not REPO_NAME.match(repo) or repo in {".", ".."}:
        raise UserError(f"{repo!r} is not a GitHub repository name.", hint="Use letters, digits, '.', '-' and '_'.")


def read_owner(root: Path) -> Owner:
    """The owner named by the root site configuration."""
    path = root / SITE_CONFIG
    if not path.is_file():
        raise UserError(f"No {SITE_CONFIG} at {root}.", hint="Run this from the portfolio repository's checkout.")
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    match = REPO_URL.match(str(config.get("repo_url", "")))
    if not match or not config.get("site_author"):
        raise UserError(
            f"{path} must set `site_author` and `repo_url: https://github.com/<user>/<repo>`.",
            hint='Run `portfolio init --name "Your Name" --github <user>` to write them.',
        )
    return Owner(name=str(config["site_author"]), github=match["github"], repo=match["repo"])


def project_badge(owner: Owner, project: str) -> str:
    """The status badge line a project's README carries under its title."""
    return owner.badge(f"{project}.yml", f"{project} CI")
