// Remove deleted node ids from the provenance lists of the nodes that survived a delete.
// Params: $namespace, $ids (survivors), $gone (deleted ids)
UNWIND $ids AS id
MATCH (n:Node {namespace: $namespace, id: id})
WHERE n.provenance IS NOT NULL AND any(p IN n.provenance WHERE p IN $gone)
SET n.provenance = [p IN n.provenance WHERE NOT p IN $gone]
