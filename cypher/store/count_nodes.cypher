// Number of nodes per label in a namespace.
// Params: $namespace
MATCH (n:Node {namespace: $namespace})
RETURN [l IN labels(n) WHERE l <> 'Node'][0] AS label, count(*) AS count
