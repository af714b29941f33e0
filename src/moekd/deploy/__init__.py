"""Deployment: ``moekd scan`` (files -> functions -> findings as text, JSON or SARIF) and
``moekd export`` (ONNX fp32 / INT8), with one loader for either backend
(:func:`moekd.deploy.loading.load_classifier`).

Nothing is imported here, so registering the commands does not load torch or onnxruntime.
"""
