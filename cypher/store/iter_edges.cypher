// Every edge of a namespace, optionally of one type, streamed.
// Params: $namespace, $type (null for all)
MATCH (a:Node {namespace: $namespace})-[r]->(b:Node {namespace: $namespace})
WHERE $type IS NULL OR type(r) = $type
RETURN a.id AS source, type(r) AS type, b.id AS target, properties(r) AS props
ORDER BY source, type, target
