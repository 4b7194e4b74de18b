// The most connected entities: ranked by how many other entities their facts join them to, then by how
// many facts and hyperedges name them and how many passages and turns mention them.
// Params: $namespace, $limit (default 20)
MATCH (e:Entity {namespace: $namespace})
OPTIONAL MATCH (e)<-[:SUBJECT|OBJECT]-(f:Fact {namespace: $namespace})
               -[:SUBJECT|OBJECT]->(other:Entity {namespace: $namespace})
WHERE other <> e
WITH e, count(DISTINCT other) AS neighbours, count(DISTINCT f) AS facts
RETURN e.name AS entity, e.type AS type, neighbours, facts,
       COUNT { (e)<-[:PARTICIPANT]-(:Hyperedge {namespace: $namespace}) } AS hyperedges,
       COUNT { (e)<-[:MENTIONS]-(:Node {namespace: $namespace}) } AS mentions, e.id AS entity_id
ORDER BY neighbours DESC, facts DESC, mentions DESC, entity
LIMIT coalesce($limit, 20)
