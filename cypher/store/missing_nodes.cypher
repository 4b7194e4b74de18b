// Which of these ids have no node in the namespace (edges must not dangle).
// Params: $namespace, $ids
UNWIND $ids AS id
OPTIONAL MATCH (n:Node {namespace: $namespace, id: id})
WITH id, n WHERE n IS NULL
RETURN collect(id) AS missing
