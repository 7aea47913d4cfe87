"""The path of one operation after transport: documents, limits, cost, execution."""
