"""The lead filter specification, its input validation, cursors and its Python predicate."""
