"""`portfolio init`: make a fork yours. Rewrites exactly what names the owner and nothing else:

- the root README title and every badge / site URL in the READMEs,
- the LICENSE holder line,
- the site's title, author and links (`mkdocs.yml`, which also records the owner for next time),
- the `authors` of every package (shared/ and projects/*).

It reads the current owner from `mkdocs.yml` and replaces it, so running it twice changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from mlshared.console import UserError
from mlshared.publish.identity import SITE_CONFIG, Owner, read_owner, validate
from mlshared.publish.workflows import project_names

LICENSE_HOLDER = re.compile(r"^(Copyright \(c\) \d{4}(?:-\d{4})?) .+$", re.MULTILINE)
README_TITLE = re.compile(r"\A# .*$", re.MULTILINE)


def _replace_urls(text: str, old: Owner, new: Owner) -> str:
    """Swap the old repository and Pages URLs for the new ones, whole URLs only (not a prefix of another repo)."""
    end = r"(?=[/)\s\"'>#?]|$)"
    text = re.sub(re.escape(old.repo_url) + end, new.repo_url, text)
    return re.sub(re.escape(old.site_url.rstrip("/")) + end, new.site_url.rstrip("/"), text)


def _site_config(text: str, new: Owner) -> str:
    values = {
        "site_name": new.title,
        "site_author": new.name,
        "site_url": new.site_url,
        "repo_url": new.repo_url,
        "repo_name": f"{new.github}/{new.repo}",
    }
    for key, value in values.items():
        pattern = re.compile(rf"^{key}:.*$", re.MULTILINE)
        found = pattern.search(text)
        if found is None:
            raise UserError(f"{SITE_CONFIG} has no `{key}:` line.", hint="Restore it from the template repository.")
        text = text[: found.start()] + f"{key}: {json.dumps(value)}" + text[found.end() :]
    return text


def _authors(text: str, new: Owner) -> str:
    """Set `authors` in the `[project]` table (inserted after `name`/`version` lines when missing)."""
    line = f"authors = [{{ name = {json.dumps(new.name)} }}]"
    start = text.find("[project]\n")
    if start < 0:
        return text
    body_end = text.find("\n[", start + 1)
    body_end = len(text) if body_end < 0 else body_end
    table = text[start:body_end]
    if re.search(r"^authors\s*=.*$", table, re.MULTILINE):
        table = re.sub(r"^authors\s*=.*$", lambda _m: line, table, count=1, flags=re.MULTILINE)
    else:
        anchor = re.search(r"^version\s*=.*$", table, re.MULTILINE) or re.search(r"^name\s*=.*$", table, re.MULTILINE)
        if anchor is None:
            return text
        table = table[: anchor.end()] + "\n" + line + table[anchor.end() :]
    return text[:start] + table + text[body_end:]


def _copier_answers(text: str, new: Owner) -> str:
    for key, value in (("author_name", new.name), ("github_user", new.github), ("github_repo", new.repo)):
        line = f"{key}: {json.dumps(value)}"
        found = re.search(rf"^{key}:.*$", text, re.MULTILINE)
        if found is not None:
            text = text[: found.start()] + line + text[found.end() :]
    return text


def planned_edits(root: Path, new: Owner) -> dict[Path, Callable[[str], str]]:
    """Each file `init` may touch and the rewrite it applies."""
    old = read_owner(root)
    edits: dict[Path, Callable[[str], str]] = {
        root / SITE_CONFIG: lambda t: _site_config(t, new),
        root / "LICENSE": lambda t: LICENSE_HOLDER.sub(lambda m: f"{m[1]} {new.name}", t, count=1),
        root / "README.md": lambda t: _replace_urls(README_TITLE.sub(f"# {new.title}", t, count=1), old, new),
    }
    for project in project_names(root):
        edits[root / "projects" / project / "README.md"] = lambda t: _replace_urls(t, old, new)
    for project in project_names(root):  # scaffolded projects: what `copier update` re-renders badges from
        edits[root / "projects" / project / ".copier-answers.yml"] = lambda t: _copier_answers(t, new)
    for package in [root / "shared", *(root / "projects" / p for p in project_names(root))]:
        edits[package / "pyproject.toml"] = lambda t: _authors(t, new)
    return edits


def make_it_yours(root: Path, name: str, github: str, repo: str | None = None) -> list[Path]:
    """Rewrite the owner everywhere it is named; returns the files that changed (none on a re-run)."""
    name = name.strip()
    if not name or "\n" in name:
        raise UserError("--name must be a non-empty single line.", hint='e.g. --name "Ada Lovelace"')
    new = Owner(name=name, github=github, repo=repo or read_owner(root).repo)
    validate(new.github, new.repo)
    changed = []
    for path, edit in planned_edits(root, new).items():
        if not path.is_file():
            continue
        before = path.read_text(encoding="utf-8")
        after = edit(before)
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed.append(path)
    return changed
