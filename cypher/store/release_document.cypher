// Drop one document from the docs of every node that lists it; report which are left unsupported.
// Params: $namespace, $document_id
MATCH (n:Node {namespace: $namespace})
WHERE $document_id IN n.docs
SET n.docs = [d IN n.docs WHERE d <> $document_id]
RETURN n.id AS id, size(n.docs) = 0 AS orphan
