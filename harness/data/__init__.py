"""Reading the Aff-Wild2 EXPR release, and the embedded corpus laid out the same way.

Nothing in this package imports torch: data reading stays cheap to import and to test.
"""
