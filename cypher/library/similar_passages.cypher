// The $k passages and dialogue turns whose embeddings are nearest to $embedding (384 floats of
// all-MiniLM-L6-v2), by cosine through the vector indexes graphmem_passage_embedding and
// graphmem_turn_embedding. The indexes span every namespace, so they are asked for more candidates
// than $k and those of other namespaces are dropped.
// Embeddings are on the nodes once written (graphmem.cypher_run.store_embeddings, `graphmem cypher --store-embeddings`).
// Params: $namespace, $embedding, $k (default 10)
CALL () {
  CALL db.index.vector.queryNodes('graphmem_passage_embedding', 50 * coalesce($k, 10) + 100, $embedding)
  YIELD node, score
  RETURN node, score
  UNION ALL
  CALL db.index.vector.queryNodes('graphmem_turn_embedding', 50 * coalesce($k, 10) + 100, $embedding)
  YIELD node, score
  RETURN node, score
}
WITH node, score WHERE node.namespace = $namespace
RETURN [label IN labels(node) WHERE label <> 'Node'][0] AS kind, node.id AS unit_id,
       coalesce(node.document_id, node.dialogue_id) AS source_id, node.speaker AS speaker, score,
       node.text AS text
ORDER BY score DESC, unit_id
LIMIT coalesce($k, 10)
