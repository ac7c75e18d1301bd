"""Card-fraud detection on simulated transactions: simulator, causal features, models, MLOps loop."""
