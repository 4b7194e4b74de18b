// Set some properties of existing nodes of one namespace, keeping the others; a null value removes one.
// Labels, id, namespace and docs are left as they are (the caller's props never name them).
// Params: $namespace, $rows = [{id, props}]
UNWIND $rows AS row
MATCH (n:Node {namespace: $namespace, id: row.id})
SET n += row.props
