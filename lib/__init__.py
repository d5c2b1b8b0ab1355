"""Which Backbone? -- the thin library behind the book's chapters.

Data flows one way: ``lib.data`` + ``lib.models`` -> ``lib.train`` -> run records in ``results/``
-> ``lib.analysis`` -> chapters -> the rendered book.
"""
