"""Training data, build scripts and the registry manifest of cuecard's ONNX scorers.

Built artifacts go to the cache folder (`.cache/models` by default), never into git.
"""
