"""Sample corpora and the seeded SEO-article generator with ground truth (see ``generate.py``)."""
