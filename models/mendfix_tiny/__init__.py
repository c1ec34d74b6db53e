"""The shipped model artifact (ONNX int8 + tokenizer + manifest + card); data only.

A package so that setuptools' package-data globs ship its files with mendbot.
"""
