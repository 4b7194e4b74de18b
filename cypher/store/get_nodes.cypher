// Nodes by id within a namespace.
// Params: $namespace, $ids
UNWIND $ids AS id
MATCH (n:Node {namespace: $namespace, id: id})
RETURN n.id AS id, [l IN labels(n) WHERE l <> 'Node'][0] AS label, properties(n) AS props
