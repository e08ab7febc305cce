"""Reading an Aff-Wild2 release for a task (EXPR, VA, AU: ``harness.tasks``), and the embedded
corpus laid out the same way.

Nothing in this package imports torch: data reading stays cheap to import and to test.
"""
