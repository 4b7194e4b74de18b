// How many distinct edges touch the given nodes (reported by deletes).
// Params: $namespace, $ids
UNWIND $ids AS id
MATCH (:Node {namespace: $namespace, id: id})-[r]-(:Node {namespace: $namespace})
RETURN count(DISTINCT r) AS count
