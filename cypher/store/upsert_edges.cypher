// Insert or replace a batch of edges of one type between existing nodes of one namespace.
// Params: $namespace, $type, $rows = [{source, target, props}]
UNWIND $rows AS row
MATCH (a:Node {namespace: $namespace, id: row.source})
MATCH (b:Node {namespace: $namespace, id: row.target})
MERGE (a)-[r:$($type)]->(b)
SET r = row.props
