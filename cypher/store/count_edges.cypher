// Number of edges per type in a namespace.
// Params: $namespace
MATCH (:Node {namespace: $namespace})-[r]->(:Node {namespace: $namespace})
RETURN type(r) AS type, count(*) AS count
