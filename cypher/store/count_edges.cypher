// Number of edges per type in a namespace.
// Params: $namespace
MATCH (:Node {namespace: $namespace})-[r]->()
RETURN type(r) AS type, count(*) AS count
