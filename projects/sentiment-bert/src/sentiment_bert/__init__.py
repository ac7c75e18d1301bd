"""SST-2 sentiment with a fine-tuned BERT-family encoder.

Importing the package makes the Hugging Face hub opt-in for the process (`HF_HUB_OFFLINE=1` unless the
user set it), before any module can import transformers: see `checkpoint.default_offline`.
"""

from sentiment_bert.checkpoint import default_offline

default_offline()
