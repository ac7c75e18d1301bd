"""`portfolio site`: the portfolio as a static site, built by MkDocs with the Material theme.

MkDocs + Material is the documentation stack most Python projects already use and GitHub Pages
hosts as plain files; its grid cards give the home page without custom HTML or JavaScript. Material
is in maintenance (critical fixes until May 2027); its successor from the same team, Zensical, reads
the same `mkdocs.yml`, so moving later is a change of build command, not of this module. This
module only generates Markdown: a home page with one card per project (what it does, its headline
metric against the published baseline, a screenshot), each project's README with its figures and
docs, and a model card from its `reports/metrics.json`. Links are rewritten so that everything the
site holds is linked inside the site and everything else (source files) points at the repository.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from mlshared import reports
from mlshared.console import UserError
from mlshared.publish import require_publish_extra
from mlshared.publish.identity import SITE_CONFIG, Owner, read_owner
from mlshared.publish.workflows import project_names

ASSET_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".md"}
LINK = re.compile(r"(\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
HTML_LINK = re.compile(r"""((?:src|href)=")([^"]+)(")""")


@dataclass
class ProjectPage:
    name: str
    title: str
    description: str
    report: reports.MetricsReport | None
    screenshot: str | None  # site path of the card image
    pages: list[tuple[str, str]] = field(default_factory=list)  # (title, site path) of extra docs pages


def _title(markdown: str, fallback: str) -> str:
    match = re.search(r"^# (.+)$", markdown, re.MULTILINE)
    return match[1].strip() if match else fallback


def _description(pyproject: Path) -> str:
    if not pyproject.is_file():
        return ""
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("description", ""))


def site_files(root: Path) -> dict[str, str]:
    """Repository path -> site path for everything the site carries."""
    mapping: dict[str, str] = {}
    for name in project_names(root):
        project = root / "projects" / name
        if (project / "README.md").is_file():
            mapping[f"projects/{name}/README.md"] = f"projects/{name}/index.md"
        for folder in ("docs", "reports"):
            for path in sorted((project / folder).rglob("*")):
                if path.is_file() and path.suffix.lower() in ASSET_SUFFIXES:
                    rel = path.relative_to(root).as_posix()
                    mapping[rel] = rel
    return mapping


def rewrite_links(text: str, source: str, dest: str, mapping: dict[str, str], root: Path, owner: Owner) -> str:
    """Point each relative link of `source` (a repository path) at the site copy (relative to `dest`) when
    the site has it, else at the file on GitHub; code blocks are left alone."""

    def target(url: str) -> str:
        if re.match(r"^[a-z][a-z0-9+.-]*:", url) or url.startswith(("#", "/")):
            return url
        path, sep, fragment = url.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
        if resolved.startswith(".."):
            return url
        for candidate in (resolved, posixpath.join(resolved, "README.md")):
            if candidate in mapping:
                return posixpath.relpath(mapping[candidate], posixpath.dirname(dest) or ".") + sep + fragment
        on_disk = root / resolved
        if on_disk.exists():
            kind = "tree" if on_disk.is_dir() else "blob"
            return f"{owner.repo_url}/{kind}/main/{resolved}" + sep + fragment
        return url  # broken: the strict build reports it

    out, fenced = [], False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced:
            line = LINK.sub(lambda m: m[1] + target(m[2]) + m[3], line)
            line = HTML_LINK.sub(lambda m: m[1] + target(m[2]) + m[3], line)
        out.append(line)
    return "".join(out)


def _screenshot(readme: str, name: str, mapping: dict[str, str]) -> str | None:
    """The project's app screenshot: the first image under docs/ its README shows, else its first image."""
    images = [m for m in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme) if not m.startswith("http")]
    located = [posixpath.normpath(f"projects/{name}/{image}") for image in images]
    located = [path for path in located if path in mapping]
    preferred = [path for path in located if path.startswith(f"projects/{name}/docs/")]
    chosen = preferred or located
    return chosen[0] if chosen else None


def _card(page: ProjectPage) -> str:
    link = f"projects/{page.name}/index.md"
    lines = [f"-   [![{page.name}]({page.screenshot})]({link})" if page.screenshot else f"-   **{page.name}**", ""]
    lines += [f"    **[{page.title}]({link})**", ""]
    if page.description:
        lines += [f"    {page.description}", ""]
    if page.report is None:
        lines += ["    *Not run yet: no `reports/metrics.json`.*", ""]
    else:
        p = page.report.primary
        arrow = "↑" if p.higher_is_better else "↓"
        status = {True: "✅ meets baseline", False: "❌ below baseline", None: "no published baseline"}
        baseline = f" against {reports.fmt(p.published_baseline)} published" if p.published_baseline is not None else ""
        lines += [f"    `{p.name}` {arrow} **{reports.fmt(p.value)}**{baseline}: {status[p.beats_baseline]}", ""]
    return "\n".join(lines)


def _model_card(page: ProjectPage) -> str:
    """What the project's last full run measured, from its committed report."""
    lines = [f"# {page.name}: model card", ""]
    if page.report is None:
        return "\n".join([*lines, "The full profile has not been run yet: there is no `reports/metrics.json`.", ""])
    r, p = page.report, page.report.primary
    lines += [
        page.description,
        "",
        "| | |",
        "|---|---|",
        f"| primary metric | `{p.name}` ({'higher' if p.higher_is_better else 'lower'} is better) |",
        f"| value | **{reports.fmt(p.value)}** |",
        f"| published baseline | {reports.fmt(p.published_baseline)} |",
        f"| baseline source | {p.baseline_source} |",
        f"| protocol | {p.description or '—'} |",
        f"| data fingerprint | `{r.data_fingerprint or '—'}` |",
        f"| code version | `{r.git_commit or '—'}` |",
        f"| generated | {r.generated_at} |",
        "",
        "## Results",
        "",
        reports.markdown_table(r.table),
        "",
        f"Generated from `projects/{page.name}/reports/metrics.json` by `portfolio site`; the project's"
        " README has the approach and its limitations.",
        "",
    ]
    return "\n".join(lines)


def generate(root: Path, docs: Path) -> list[ProjectPage]:
    """Write the site's Markdown and assets into `docs` (emptied first); returns the project pages."""
    owner = read_owner(root)
    site_name = str(yaml.safe_load((root / SITE_CONFIG).read_text(encoding="utf-8")).get("site_name", "Portfolio"))
    if docs.exists():
        shutil.rmtree(docs)
    mapping = site_files(root)
    pages: list[ProjectPage] = []
    for source, dest in mapping.items():
        target = docs / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.endswith(".md"):
            text = (root / source).read_text(encoding="utf-8")
            target.write_text(rewrite_links(text, source, dest, mapping, root, owner), encoding="utf-8")
        else:
            shutil.copyfile(root / source, target)
    for name in project_names(root):
        project = root / "projects" / name
        readme = (project / "README.md").read_text(encoding="utf-8") if (project / "README.md").is_file() else ""
        metrics = project / "reports" / "metrics.json"
        page = ProjectPage(
            name=name,
            title=_title(readme, name),
            description=_description(project / "pyproject.toml"),
            report=reports.read_report(metrics) if metrics.is_file() else None,
            screenshot=_screenshot(readme, name, mapping),
        )
        if not readme:
            (docs / f"projects/{name}/index.md").parent.mkdir(parents=True, exist_ok=True)
            (docs / f"projects/{name}/index.md").write_text(f"# {name}\n\n{page.description}\n", encoding="utf-8")
        page.pages = [
            (_title((docs / dest).read_text(encoding="utf-8"), Path(dest).stem), dest)
            for source, dest in mapping.items()
            if source.startswith(f"projects/{name}/") and source.endswith(".md") and not source.endswith("README.md")
        ]
        (docs / f"projects/{name}/model-card.md").write_text(_model_card(page), encoding="utf-8")
        pages.append(page)
    home = [
        f"# {site_name}",
        "",
        f"{len(pages)} machine-learning projects on real public data. Each card shows the project's headline"
        " metric from its last full run (`reports/metrics.json`) against the best published figure on the"
        f" same protocol. Source: [{owner.github}/{owner.repo}]({owner.repo_url}).",
        "",
        '<div class="grid cards" markdown>',
        "",
        *(_card(page) for page in pages),
        "</div>",
        "",
    ]
    (docs / "index.md").write_text("\n".join(home), encoding="utf-8")
    return pages


def _nav(pages: list[ProjectPage]) -> list[object]:
    nav: list[object] = [{"Home": "index.md"}]
    for page in pages:
        entries: list[object] = [{"Overview": f"projects/{page.name}/index.md"}]
        entries += [{title: path} for title, path in page.pages]
        entries.append({"Model card": f"projects/{page.name}/model-card.md"})
        nav.append({page.name: entries})
    return nav


def build(root: Path, out: Path, work: Path | None = None) -> Path:
    """Generate the Markdown, run a strict MkDocs build into `out` and check every link and image in it."""
    if not (root / SITE_CONFIG).is_file():
        raise UserError(f"No {SITE_CONFIG} at {root}.", hint="Run `portfolio site` from the repository checkout.")
    work = work or root / "build" / "site-src"
    docs = work / "docs"
    pages = generate(root, docs)
    config = {
        "INHERIT": str((root / SITE_CONFIG).resolve()),
        "docs_dir": str(docs.resolve()),
        "site_dir": str(out.resolve()),
        "nav": _nav(pages),
    }
    config_file = work / "mkdocs.yml"
    require_publish_extra("material")
    config_file.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "--quiet", "-f", str(config_file)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if run.returncode != 0:
        raise UserError(
            "The site did not build:\n" + (run.stderr or run.stdout)[-3000:],
            hint="Fix the broken links or pages named above (a README link to a missing file, usually).",
        )
    # MkDocs checks links between pages but not images; this checks every href and src it wrote.
    broken = broken_links(out, base_path(root))
    if broken:
        raise UserError(
            "The built site has broken links or images:\n" + "\n".join(broken[:20]),
            hint="Each line is `page -> target`; fix the README or docs link the page came from.",
        )
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"a": "href", "img": "src", "link": "href", "script": "src"}.get(tag)
        self.urls += [value for key, value in attrs if key == wanted and value]


def broken_links(site: Path, base: str = "/") -> list[str]:
    """Every internal link, image, stylesheet and script of the built site that points at no file.
    `base` is the path the site is published under (404.html links absolutely, from `site_url`)."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for url in parser.urls:
            if re.match(r"^[a-z][a-z0-9+.-]*:", url) or url.startswith(("#", "//")):
                continue
            path = unquote(urlsplit(url).path)
            if not path:
                continue
            if path.startswith("/"):
                target = site / path.removeprefix(base.rstrip("/")).lstrip("/")
            else:
                target = page.parent / path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {url}")
    return broken


def base_path(root: Path) -> str:
    """The URL path GitHub Pages serves the site under (from `site_url`)."""
    return urlsplit(read_owner(root).site_url).path


def screenshot(site: Path, output: Path, width: int = 1280, height: int = 900) -> Path:
    """Serve the built site and save a PNG of its home page in headless Chromium (the README's picture)."""
    from mlshared.browser import screenshot_app

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)]

    def settle(page: Any) -> None:
        page.wait_for_selector(".grid.cards")
        page.wait_for_function("[...document.images].every((img) => img.complete)")

    return screenshot_app(command, output, settle, width=width, height=height, full_page=False)
