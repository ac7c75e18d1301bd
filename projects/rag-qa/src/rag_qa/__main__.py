from rag_qa.cli import main

main()
