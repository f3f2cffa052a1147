"""Hand-written evaluation conversations for cuecard coaching; never trained on (see README.md)."""
