// A community with its members and summary: one row per member entity, the best connected first (facts
// joining it to other members). $community_id null picks the largest community of the top level.
// The columns `member_node` and `in_community` let Neo4j Browser draw the community.
// Params: $namespace, $community_id
MATCH (c:Community {namespace: $namespace})
WHERE $community_id IS NULL OR c.id = $community_id
WITH c ORDER BY c.level, c.size DESC, c.id LIMIT 1
OPTIONAL MATCH (parent:Community {namespace: $namespace})<-[:CHILD_OF]-(c)
MATCH (member:Entity {namespace: $namespace})-[in_community:IN_COMMUNITY]->(c)
WITH c, parent, member, in_community,
     COUNT { (member)<-[:SUBJECT|OBJECT]-(:Fact {namespace: $namespace})
               -[:SUBJECT|OBJECT]->(:Entity {namespace: $namespace})-[:IN_COMMUNITY]->(c) } AS inner_facts
RETURN c.id AS community_id, c.level AS level, c.title AS title, c.size AS size, c.summary AS summary,
       parent.id AS parent_id, member.name AS member, member.type AS member_type, inner_facts,
       member AS member_node, in_community
ORDER BY inner_facts DESC, member
