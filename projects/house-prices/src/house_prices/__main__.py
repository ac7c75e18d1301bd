from house_prices.cli import main

main()
