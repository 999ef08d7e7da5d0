"""Full-text search over the written site (a built-in plugin)."""
