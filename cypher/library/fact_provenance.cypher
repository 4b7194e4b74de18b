// A fact's provenance: every passage or dialogue turn that states it, with its text, where it comes from
// (the document and its title, or the dialogue, session time and speaker) and its date, oldest first.
// Works for hyperedges too (give a hyperedge's id).
// Params: $namespace, $fact_id
MATCH (f:Node {namespace: $namespace, id: $fact_id})
WHERE f:Fact OR f:Hyperedge
MATCH (f)-[:SUPPORTED_BY]->(unit:Node {namespace: $namespace})
OPTIONAL MATCH (unit:Passage)-[:PART_OF]->(doc:Document {namespace: $namespace})
OPTIONAL MATCH (unit:Turn)-[:PART_OF]->(:Session {namespace: $namespace})
               -[:PART_OF]->(dialogue:Dialogue {namespace: $namespace})
RETURN f.id AS fact_id, f.subject_name AS subject, f.predicate AS predicate, f.object_name AS object,
       f.sentence AS sentence,
       [label IN labels(unit) WHERE label <> 'Node'][0] AS kind, unit.id AS unit_id,
       coalesce(doc.id, dialogue.id) AS source_id, coalesce(doc.title, dialogue.title) AS source_title,
       unit.speaker AS speaker, coalesce(unit.timestamp, unit.date, doc.date) AS date,
       unit.start AS start, unit.end AS end, unit.text AS text
ORDER BY date, unit_id
