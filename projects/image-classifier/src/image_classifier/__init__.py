"""Ants vs bees image classification: data checks, ImageNet transfer learning, evaluation, ONNX serving, app."""
