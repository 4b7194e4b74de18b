// Every node of a namespace, optionally of one label, streamed in id order.
// Params: $namespace, $label (null for all)
MATCH (n:Node {namespace: $namespace})
WHERE $label IS NULL OR $label IN labels(n)
RETURN n.id AS id, [l IN labels(n) WHERE l <> 'Node'][0] AS label, properties(n) AS props
ORDER BY id
