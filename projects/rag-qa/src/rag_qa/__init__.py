"""rag-qa: question answering over your documents with hybrid retrieval, citations and abstention."""
