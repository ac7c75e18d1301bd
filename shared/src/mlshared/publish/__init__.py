"""Publishing the portfolio: make a fork yours (`init`), the CI badges, the static site (`site`),
new projects from the copier template (`new`) and Hugging Face Space bundles (`spaces`).
One module per concern; `cli.py` registers their commands on the root `portfolio` app."""


def require_publish_extra(module: str) -> None:
    """A clear error when the publishing tools (mlshared's `publish` extra) are not installed."""
    import importlib.util

    from mlshared.console import UserError

    if importlib.util.find_spec(module) is None:
        raise UserError(
            f"This command needs {module}, from mlshared's publishing extra, which is not installed.",
            hint="Run `make setup` (it installs everything), or `pip install -e 'shared[publish]'`.",
        )
