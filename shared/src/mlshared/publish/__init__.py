"""Publishing the portfolio: make a fork yours (`init`), the CI badges, the static site (`site`),
new projects from the copier template (`new`) and Hugging Face Space bundles (`spaces`).
One module per concern; `cli.py` registers their commands on the root `portfolio` app."""
