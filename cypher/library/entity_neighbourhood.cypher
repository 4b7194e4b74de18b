// An entity's neighbourhood: the facts it is the subject or object of, the entity at the other end of each,
// and the passages or turns that state it. One row per fact, the most often stated first. The columns
// `path` (entity, fact, neighbour) and `sources`/`supported_by` (the stating passages and turns) are graph
// elements, so Neo4j Browser draws the neighbourhood; the other columns are for reading.
// $name matches the entity's name or an alias case-insensitively, or its normalised key.
// Params: $namespace, $name, $limit (facts, default 25)
MATCH (e:Entity {namespace: $namespace})
WHERE toLower(e.name) = toLower(trim($name)) OR e.key = toLower(trim($name))
   OR toLower(trim($name)) IN [alias IN coalesce(e.aliases, []) | toLower(alias)]
MATCH path = (e)<-[:SUBJECT|OBJECT]-(f:Fact {namespace: $namespace})
             -[:SUBJECT|OBJECT]->(other:Entity {namespace: $namespace})
WHERE other <> e OR f.subject_id = f.object_id
WITH e, f, path, other
ORDER BY size(coalesce(f.provenance, [])) DESC, f.predicate, other.name, f.id
LIMIT coalesce($limit, 25)
OPTIONAL MATCH (f)-[supported_by:SUPPORTED_BY]->(source:Node {namespace: $namespace})
WITH e, f, path, other, collect(supported_by) AS supported_by, collect(source) AS sources
RETURN e.name AS entity,
       CASE WHEN f.subject_id = e.id THEN 'out' ELSE 'in' END AS direction,
       f.subject_name AS subject, f.predicate AS predicate, f.object_name AS object,
       other.name AS neighbour, f.valid_from AS valid_from, f.valid_to AS valid_to, f.expired_at AS expired_at,
       [s IN sources | s.id] AS source_ids, path, sources, supported_by
