"""标准管理: quality rules, their findings on every item, the board and same-service pairs."""
