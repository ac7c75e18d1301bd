"""`portfolio site`: the strict MkDocs build, its cards and pages, every internal link and image, and
the home page in headless Chromium."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from mlshared import reports
from mlshared.console import UserError
from mlshared.publish import site
from mlshared.publish.identity import read_owner
from mlshared.publish.workflows import project_names


@pytest.fixture(scope="module")
def built(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("site")
    return site.build(root, work / "html", work / "src")


def _cards(html: str) -> list[str]:
    grid = html.split('<div class="grid cards">', 1)[1].split("</div>", 1)[0]
    return re.findall(r"<li>(.*?)</li>", grid, re.DOTALL)


def test_home_has_one_card_per_project_with_its_headline_metric(root: Path, built: Path) -> None:
    cards = _cards((built / "index.html").read_text())
    names = project_names(root)
    assert len(cards) == len(names)
    for name, card in zip(names, cards, strict=True):
        assert f'href="projects/{name}/"' in card
        metrics = root / "projects" / name / "reports" / "metrics.json"
        if metrics.is_file():
            primary = reports.read_report(metrics).primary
            assert f"<strong>{reports.fmt(primary.value)}</strong>" in card, name
            assert ("meets baseline" in card) == bool(primary.beats_baseline), name
        else:
            assert "Not run yet" in card


def test_cards_show_the_app_screenshot(root: Path, built: Path) -> None:
    cards = dict(zip(project_names(root), _cards((built / "index.html").read_text()), strict=True))
    assert 'src="projects/house-prices/docs/app.png"' in cards["house-prices"]


def test_each_project_has_its_readme_figures_and_model_card(root: Path, built: Path) -> None:
    for name in project_names(root):
        page = built / "projects" / name / "index.html"
        assert page.is_file(), name
        assert (built / "projects" / name / "model-card" / "index.html").is_file(), name
    house = (built / "projects/house-prices/index.html").read_text()
    assert (
        'src="../reports/figures/predicted_vs_actual.png"' in house
        or 'src="reports/figures/predicted_vs_actual.png"' in house
    )
    assert (built / "projects/house-prices/reports/figures/predicted_vs_actual.png").is_file()
    card = (built / "projects/house-prices/model-card/index.html").read_text()
    assert "cv_rmse_log1p" in card and "Serigne" in card


def test_every_internal_link_and_image_resolves(root: Path, built: Path) -> None:
    assert site.broken_links(built, site.base_path(root)) == []


def test_the_link_checker_finds_a_missing_image(built: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(built, tmp_path / "html")
    (copy / "projects/house-prices/reports/figures/residuals.png").unlink()
    assert any("residuals.png" in link for link in site.broken_links(copy))


def test_links_to_source_files_point_at_the_repository(root: Path) -> None:
    owner = read_owner(root)
    mapping = site.site_files(root)
    text = "See [features](src/house_prices/features.py), [churn](../churn-api), ![x](docs/app.png) and [top](#top).\n"
    text += "```\n[not a link](src/x.py)\n```\n"
    out = site.rewrite_links(
        text, "projects/house-prices/README.md", "projects/house-prices/index.md", mapping, root, owner
    )
    assert f"({owner.repo_url}/blob/main/projects/house-prices/src/house_prices/features.py)" in out
    assert "(../churn-api/index.md)" in out
    assert "(docs/app.png)" in out and "(#top)" in out
    assert "[not a link](src/x.py)" in out


def test_a_broken_readme_link_fails_the_build(root: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "projects/demo").mkdir(parents=True)
    shutil.copy(root / "mkdocs.yml", repo / "mkdocs.yml")
    (repo / "projects/demo/pyproject.toml").write_text('[project]\nname = "demo"\ndescription = "A demo."\n')
    (repo / "projects/demo/README.md").write_text("# Demo\n\n![figure](reports/figures/missing.png)\n")
    with pytest.raises(UserError, match=r"missing\.png"):
        site.build(repo, tmp_path / "html", tmp_path / "src")


@pytest.mark.browser
def test_the_site_loads_in_chromium(root: Path, built: Path) -> None:
    from mlshared.browser import browser_page
    from mlshared.servers import free_port, serve

    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(built)]
    with serve(command, port) as server, browser_page() as page:
        page.goto(server.base_url + "/")
        page.wait_for_selector(".grid.cards")
        assert page.locator(".grid.cards > ul > li").count() == len(project_names(root))
        page.wait_for_function("[...document.images].every((img) => img.complete)")
        unloaded = page.evaluate("[...document.images].filter((img) => img.naturalWidth === 0).map((img) => img.src)")
        assert unloaded == []
        page.locator(".grid.cards a[href='projects/house-prices/']").first.click()
        page.wait_for_selector("h1")
        assert "House prices" in page.locator("h1").first.inner_text()
        figures = page.evaluate("[...document.images].filter((img) => img.naturalWidth > 0).length")
        assert figures >= 3
