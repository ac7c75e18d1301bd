"""Ames house-price regression: data contract, features, models, training, serving."""
