// Every edge touching the given nodes, in either direction, optionally of some types.
// Params: $namespace, $ids, $types (null for all)
UNWIND $ids AS id
MATCH (n:Node {namespace: $namespace, id: id})-[r]-(:Node {namespace: $namespace})
WHERE $types IS NULL OR type(r) IN $types
WITH DISTINCT r
RETURN startNode(r).id AS source, type(r) AS type, endNode(r).id AS target, properties(r) AS props
