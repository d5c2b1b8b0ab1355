"""Which Backbone? -- the thin library behind the book's chapters.

Data flows one way: ``lib.data`` + ``lib.models`` -> ``lib.train`` (through ``lib.runs``) -> run records in
``results/`` -> the analysis modules (``lib.findings``, ``lib.lowdata``, ``lib.architecture``) -> chapters -> the
rendered book.
"""
