from sentiment_bert.cli import main

main()
