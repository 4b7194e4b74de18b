// The $k entities whose name embeddings are nearest to $embedding (384 floats of all-MiniLM-L6-v2), by
// cosine through the vector index graphmem_entity_embedding. The index spans every namespace, so it is
// asked for more candidates than $k and those of other namespaces are dropped.
// Embeddings are on the nodes once written (graphmem.cypher_run.store_embeddings, `graphmem cypher --store-embeddings`).
// Params: $namespace, $embedding, $k (default 10)
CALL db.index.vector.queryNodes('graphmem_entity_embedding', 50 * coalesce($k, 10) + 100, $embedding)
YIELD node, score
WHERE node.namespace = $namespace
RETURN node.name AS entity, node.type AS type, score, node.id AS entity_id
ORDER BY score DESC, entity_id
LIMIT coalesce($k, 10)
