from churn_api.cli import main

main()
