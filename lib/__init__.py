"""Which Backbone? -- the library: backbones, datasets, the DualOpt trainer, what runs it, and the run records.

Data flows one way: ``lib.data`` + ``lib.models`` -> ``lib.train`` (through ``lib.config`` and ``lib.runs``) -> run
records in ``results/`` (``lib.results``) -> the chapters' analysis in ``book/`` -> chapters -> the rendered book.
Nothing here imports ``book``, ``yourdata`` or ``bench`` (``tests/test_layers.py``); CONTRIBUTING.md has the map.
"""
