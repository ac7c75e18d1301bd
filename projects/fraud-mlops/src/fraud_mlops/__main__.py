from fraud_mlops.cli import main

main()
