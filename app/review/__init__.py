"""Review before publishing (审核): editors propose change requests, the region's
government-service administration (政务服务管理机构) approves or rejects them."""
