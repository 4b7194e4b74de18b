// Delete nodes by id with all their edges.
// Params: $namespace, $ids
UNWIND $ids AS id
MATCH (n:Node {namespace: $namespace, id: id})
DETACH DELETE n
