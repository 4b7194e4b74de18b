// Every namespace that holds at least one node.
MATCH (n:Node)
RETURN DISTINCT n.namespace AS namespace
ORDER BY namespace
