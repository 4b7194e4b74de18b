// Delete up to $batch nodes of a namespace with their edges; call until it returns 0.
// Params: $namespace, $batch
MATCH (n:Node {namespace: $namespace})
WITH n LIMIT $batch
DETACH DELETE n
RETURN count(*) AS deleted
