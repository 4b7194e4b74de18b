// Hyperedges (n-ary facts: a clause with three or more participants) and their participants in their
// roles, the most often stated first; optionally only those an entity takes part in.
// $entity: an entity's name, alias or id, or null for all. The columns `hyperedge`, `participant_nodes`
// and `participant_edges` are graph elements for Neo4j Browser.
// Params: $namespace, $entity (optional), $limit (default 25)
MATCH (h:Hyperedge {namespace: $namespace})
WHERE $entity IS NULL OR EXISTS {
        MATCH (h)-[:PARTICIPANT]->(x:Entity {namespace: $namespace})
        WHERE x.id = $entity OR toLower(x.name) = toLower(trim($entity)) OR x.key = toLower(trim($entity))
           OR toLower(trim($entity)) IN [alias IN coalesce(x.aliases, []) | toLower(alias)] }
WITH h ORDER BY size(coalesce(h.provenance, [])) DESC, h.id
LIMIT coalesce($limit, 25)
MATCH (h)-[edge:PARTICIPANT]->(p:Entity {namespace: $namespace})
WITH h, edge, p ORDER BY edge.role, p.name
WITH h, collect({role: edge.role, entity: p.name}) AS participants, collect(p) AS participant_nodes,
     collect(edge) AS participant_edges
RETURN h.id AS hyperedge_id, h.predicate AS predicate, participants, h.sentence AS sentence,
       h.valid_from AS valid_from, h.provenance AS provenance, h AS hyperedge, participant_nodes, participant_edges
ORDER BY size(coalesce(h.provenance, [])) DESC, hyperedge_id
